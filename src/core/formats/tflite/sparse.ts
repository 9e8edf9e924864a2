/**
 * Densifying TFLite sparse tensors (a variant of the TACO format).
 *
 * A sparse tensor of n dimensions, optionally split into k-dimensional blocks, is traversed in
 * `traversalOrder` (n + k entries: the n outer dimensions, then the k block dimensions). Each
 * traversal level is DENSE (every coordinate present, `denseSize` of them) or SPARSE_CSR
 * (`segments[p]..segments[p+1]` index into `indices`, the coordinates present under position p
 * of the level above). The stored values follow the last level's positions.
 *
 * Every number comes from the file, so every one is checked; a failure is a SparseFormatError
 * whose message the reader turns into a sentence about the tensor.
 */

export class SparseFormatError extends Error {}

export interface SparseLevel {
  format: 'DENSE' | 'SPARSE_CSR';
  denseSize: number;
  segments?: ArrayLike<number>;
  indices?: ArrayLike<number>;
}

export interface SparseLayout {
  traversalOrder: number[];
  blockMap: number[];
  levels: SparseLevel[];
}

function fail(message: string): never {
  throw new SparseFormatError(message);
}

/**
 * Dense copy of `values` (a typed array of the tensor's element type, in sparse storage order)
 * for a tensor of `shape`. `maxElements` bounds the dense size.
 */
export function densify<T extends { length: number; [i: number]: number | bigint }>(
  layout: SparseLayout,
  shape: readonly number[],
  values: T,
  makeDense: (length: number) => T,
  maxElements: number,
): T {
  const n = shape.length;
  const { traversalOrder: order, blockMap, levels } = layout;
  const k = blockMap.length;
  if (order.length !== n + k) fail(`its traversal order has ${order.length} entries for ${n} dimensions and ${k} block dimensions`);
  if (levels.length !== n + k) fail(`it describes ${levels.length} levels for ${n + k} traversal dimensions`);
  const seen = new Set(order);
  if (seen.size !== n + k || order.some((d) => !Number.isInteger(d) || d < 0 || d >= n + k)) {
    fail(`its traversal order [${order.join(',')}] is not a permutation of 0..${n + k - 1}`);
  }
  if (order.slice(n).some((d) => d < n) || order.slice(0, n).some((d) => d >= n)) {
    fail(`its traversal order [${order.join(',')}] must list the ${n} tensor dimensions before the block dimensions`);
  }
  let total = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) fail(`its shape [${shape.join(',')}] is not fully known`);
    total *= d;
  }
  if (total > maxElements) fail(`it would densify to ${total} values, more than the ${maxElements} its stored data allows`);

  // Size of every traversal dimension: block dimensions take their size from their level; the
  // blocked tensor dimension is divided by it.
  const blockSize = new Array<number>(n).fill(1);
  const dimSize = new Array<number>(n + k);
  for (let j = 0; j < k; j++) {
    const d = blockMap[j];
    if (!Number.isInteger(d) || d < 0 || d >= n) fail(`block ${j} maps to dimension ${d}, outside the shape`);
    const level = levels[order.indexOf(n + j)];
    if (level.format !== 'DENSE' || !(level.denseSize >= 1)) fail(`block dimension ${j} must be dense with a positive size`);
    if (blockSize[d] !== 1) fail(`dimension ${d} is blocked twice`);
    blockSize[d] = level.denseSize;
    dimSize[n + j] = level.denseSize;
  }
  for (let d = 0; d < n; d++) {
    if (shape[d] % blockSize[d] !== 0) fail(`dimension ${d} of size ${shape[d]} does not split into blocks of ${blockSize[d]}`);
    dimSize[d] = shape[d] / blockSize[d];
  }
  levels.forEach((level, l) => {
    if (level.format === 'DENSE' && level.denseSize !== dimSize[order[l]]) {
      fail(`level ${l} is dense with size ${level.denseSize}, but its dimension has size ${dimSize[order[l]]}`);
    }
    if (level.format === 'SPARSE_CSR' && (!level.segments || !level.indices)) fail(`level ${l} is sparse but has no segments or indices`);
  });

  const strides = new Array<number>(n);
  let s = 1;
  for (let d = n - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  const dense = makeDense(total);
  const coords = new Array<number>(n + k).fill(0);
  let visited = 0;

  const walk = (l: number, position: number): void => {
    if (++visited > (n + k + 2) * (total + values.length) + 1024) fail('its index structure visits far more positions than the tensor has values');
    if (l === n + k) {
      if (position >= values.length) fail(`it refers to stored value ${position}, but only ${values.length} are stored`);
      let index = 0;
      for (let d = 0; d < n; d++) index += coords[d] * blockSize[d] * strides[d];
      for (let j = 0; j < k; j++) index += coords[n + j] * strides[blockMap[j]];
      dense[index] = values[position];
      return;
    }
    const level = levels[l];
    const dim = order[l];
    if (level.format === 'DENSE') {
      for (let i = 0; i < level.denseSize; i++) {
        coords[dim] = i;
        walk(l + 1, position * level.denseSize + i);
      }
      return;
    }
    const segments = level.segments as ArrayLike<number>;
    const indices = level.indices as ArrayLike<number>;
    if (position + 1 >= segments.length) fail(`level ${l} has ${segments.length} segment bounds; position ${position} needs ${position + 2}`);
    const start = segments[position];
    const end = segments[position + 1];
    if (!(start >= 0 && start <= end && end <= indices.length)) fail(`level ${l} segment ${position} spans [${start}, ${end}) of ${indices.length} indices`);
    for (let j = start; j < end; j++) {
      const c = indices[j];
      if (!(c >= 0 && c < dimSize[dim])) fail(`level ${l} has coordinate ${c} for a dimension of size ${dimSize[dim]}`);
      coords[dim] = c;
      walk(l + 1, j);
    }
  };
  walk(0, 0);
  return dense;
}
