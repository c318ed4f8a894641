/**
 * Compiles kernels.wat and writes binary.ts (`npm run build:wat -w @edgeloop/models`). The test in
 * simd.test.ts compiles the text again and checks that binary.ts holds the same bytes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** The bytes of kernels.wat, compiled with wabt (SIMD enabled) and validated. */
export async function compileKernelsWat(): Promise<Uint8Array> {
  const { default: initWabt } = await import('wabt');
  const wabt = await initWabt();
  const text = await readFile(here('./kernels.wat'), 'utf8');
  const module = wabt.parseWat('kernels.wat', text, { simd: true });
  try {
    module.validate();
    return Uint8Array.from(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

/** The source of binary.ts for `bytes`. */
export function binaryModule(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString('base64');
  const lines = b64.match(/.{1,96}/g) ?? [];
  return `/** Generated from kernels.wat by build.ts (\`npm run build:wat -w @edgeloop/models\`); do not edit. */
export const KERNELS_WASM_BASE64 =
${lines.map((l) => `  '${l}'`).join(' +\n')};
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = await compileKernelsWat();
  await writeFile(here('./binary.ts'), binaryModule(bytes));
  console.log(`wrote binary.ts (${bytes.length} bytes of wasm)`);
}
