/** The part of a job's context that long data work needs: report progress (and be cancelled). */
export interface JobContextLike {
  progress(fraction: number | null, message: string): void;
  readonly signal?: AbortSignal;
}
