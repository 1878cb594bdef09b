export const START: string;
export const END: string;
export const LIMITS: Record<string, { value: number | null; what: string; source: string }>;
export function renderCapacity(results: unknown): string;
export function withCapacity(doc: string, results: unknown): string;
