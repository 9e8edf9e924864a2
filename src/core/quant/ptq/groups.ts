/** Union-find over tensor indices: the tensors that must share quantization parameters. */
export class TensorGroups {
  private parent = new Map<number, number>();
  find(t: number): number {
    let p = this.parent.get(t) ?? t;
    if (p !== t) {
      p = this.find(p);
      this.parent.set(t, p);
    }
    return p;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}
