// Lookups shared within one unit of work (a queue batch, a bulk request): each key is loaded
// once, concurrent askers share the same promise. Never kept beyond the unit, so never stale.
export class Memo {
  private readonly entries = new Map<string, Promise<unknown>>();

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    let hit = this.entries.get(key) as Promise<T> | undefined;
    if (!hit) {
      hit = load();
      this.entries.set(key, hit);
    }
    return hit;
  }
}
