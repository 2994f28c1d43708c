// Summaries of repeated measurements: the median is what the report compares, the
// minimum and maximum show how much the runs disagreed (on a 2-core machine where the
// client, the proxy and the sink share the CPUs, they do).

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median, in percent: how far apart the runs were. */
  spreadPercent: number;
  samples: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  const m = median(samples);
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  return { median: m, min, max, spreadPercent: m > 0 ? ((max - min) / m) * 100 : 0, samples: [...samples] };
}

/** Ratio of two medians, or NaN when the baseline did not run. */
export function ratio(value: Summary, baseline: Summary): number {
  return baseline.median > 0 ? value.median / baseline.median : Number.NaN;
}
