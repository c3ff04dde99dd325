// A Vite plugin (plain JavaScript: the client's TypeScript has no Node types).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** Brotli and gzip copies of each text asset, next to it: WhiteNoise serves them by Accept-Encoding. */
export function precompress() {
  return {
    name: 'precompress',
    apply: 'build',
    writeBundle(options, bundle) {
      for (const file of Object.values(bundle)) {
        if (!/\.(js|css|svg|json|map)$/.test(file.fileName)) continue;
        const data = Buffer.from(file.type === 'chunk' ? file.code : file.source);
        if (data.length < 1024) continue;
        const target = path.join(options.dir ?? 'dist', file.fileName);
        writeFileSync(`${target}.gz`, gzipSync(data, { level: 9 }));
        writeFileSync(`${target}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
    },
  };
}
