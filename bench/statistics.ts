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

export interface LinearFit {
  /** Least-squares slope of y over x. */
  slope: number;
  /** Its standard error (NaN with fewer than 3 points): a slope within ~2 of these of 0 is noise. */
  standardError: number;
}

/** Ordinary least squares, y = a + slope x: how fast a measure grows, and how sure that is. */
export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return { slope: Number.NaN, standardError: Number.NaN };
  const meanX = xs.slice(0, n).reduce((sum, x) => sum + x, 0) / n;
  const meanY = ys.slice(0, n).reduce((sum, y) => sum + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - meanX) ** 2;
    sxy += (xs[i]! - meanX) * (ys[i]! - meanY);
  }
  const slope = sxy / sxx;
  let residuals = 0;
  for (let i = 0; i < n; i++) residuals += (ys[i]! - meanY - slope * (xs[i]! - meanX)) ** 2;
  return { slope, standardError: n > 2 ? Math.sqrt(residuals / (n - 2) / sxx) : Number.NaN };
}
