/**
 * Option parsers the verbs share (numbers, choices, files), and the dataset flags every verb that
 * reads a dataset has: the seed of `random:N` and the preprocessing (scale, mean/std, resize,
 * channel order) that is saved with every result.
 */
import { InvalidArgumentError, type Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import type { Preprocess } from '../core/data/dataset';
import { UserError } from '../core/errors';

export function positiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) === 0) throw new InvalidArgumentError(`'${v}' is not a positive integer.`);
  return Number(v);
}

/** A parser accepting exactly one of `values`; the message names `what` and the choices. */
export function oneOf<T extends string>(what: string, values: readonly T[]): (v: string) => T {
  return (v: string) => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`'${v}' is not ${what} (${values.join(', ')}).`);
    return v as T;
  };
}

/** The absolute path of an existing file, or a user error naming its role and the path. */
export function existingFile(file: string, role: string): string {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs) || fs.statSync(abs).isDirectory()) throw new UserError('bad-input', `${role} file '${abs}' does not exist.`);
  return abs;
}

export function nonNegativeInt(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`'${v}' is not a non-negative integer.`);
  return Number(v);
}

export function finiteNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`'${v}' is not a number.`);
  return n;
}

function numberList(v: string): number[] {
  const list = v.split(',').map((s) => Number(s.trim()));
  if (v.trim() === '' || list.some((n) => !Number.isFinite(n))) throw new InvalidArgumentError(`'${v}' is not a comma-separated list of numbers.`);
  return list;
}

function size(v: string): [number, number] {
  const m = /^(\d+)[x×,](\d+)$/.exec(v.trim());
  if (!m || Number(m[1]) === 0 || Number(m[2]) === 0) throw new InvalidArgumentError(`'${v}' is not a size HEIGHTxWIDTH (e.g. 224x224).`);
  return [Number(m[1]), Number(m[2])];
}

function channelOrder(v: string): 'rgb' | 'bgr' | 'gray' {
  if (v !== 'rgb' && v !== 'bgr' && v !== 'gray') throw new InvalidArgumentError(`'${v}' is not a channel order (rgb, bgr or gray).`);
  return v;
}

export interface DatasetFlags {
  seed: number;
  scale?: number;
  mean?: number[];
  std?: number[];
  resize?: [number, number];
  channels?: 'rgb' | 'bgr' | 'gray';
}

/** Adds --seed, --scale, --mean, --std, --resize, --channels to a command. */
export function addDatasetOptions(cmd: Command): Command {
  return cmd
    .option('--seed <n>', 'seed for random:N data', nonNegativeInt, 0)
    .option('--scale <x>', 'multiply raw values by this (default 1/255 for pixels, 1 for .npy and random data)', finiteNumber)
    .option('--mean <m>', 'subtract after scaling: one value or one per channel, comma-separated', numberList)
    .option('--std <s>', 'then divide: one value or one per channel, comma-separated', numberList)
    .option('--resize <HxW>', 'resize images (bilinear) to HEIGHTxWIDTH', size)
    .option('--channels <order>', 'rgb, bgr or gray', channelOrder);
}

/** The preprocessing the flags ask for beyond the dataset's defaults (undefined when none). */
export function preprocessFrom(opts: DatasetFlags): Preprocess | undefined {
  const p: Preprocess = {};
  if (opts.scale !== undefined) p.scale = opts.scale;
  if (opts.mean) p.mean = opts.mean;
  if (opts.std) p.std = opts.std;
  if (opts.resize) p.resize = opts.resize;
  if (opts.channels) p.channels = opts.channels;
  return Object.keys(p).length ? p : undefined;
}
