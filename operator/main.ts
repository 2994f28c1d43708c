export async function runOperator(_args: string[]): Promise<number> { throw new Error('operator: not built yet'); }
