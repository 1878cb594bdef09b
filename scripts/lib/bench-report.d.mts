export const START: string;
export const END: string;
export function renderBench(results: unknown): string;
export function withBench(readme: string, results: unknown): string;
