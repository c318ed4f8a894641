/**
 * Measures how much each shift hurts a CNN trained on plain MNIST, and whether a model trained on
 * clean plus shifted digits wins it back:
 * `node --conditions=@edgeloop/source --import tsx loadtests/bench/shifts.ts [epochs] [--retrain]`.
 */
import { measureShifts } from '../src/shift-efficacy.js';
import { SHIFTS } from '../src/shifts.js';

const args = process.argv.slice(2);
const epochs = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
const shifts = Object.values(SHIFTS).filter((s) => s.name !== 'none');
const result = await measureShifts(shifts, { epochs, retrain: args.includes('--retrain') });
console.log(JSON.stringify({ epochs, ...result }, null, 2));
