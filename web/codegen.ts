import type { CodegenConfig } from '@graphql-codegen/cli';

// Types and typed documents come from the server's generated SDL (../schema.graphql).
// `npm run codegen` writes src/gql/ (committed); `npm run codegen:check` fails when it is stale.
// CODEGEN_OUT lets codegen:check write to a temporary folder instead.
const out = process.env.CODEGEN_OUT ?? './src/gql/';

const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    [out]: {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', Decimal: 'string', ID: 'string' },
        skipTypename: false,
      },
    },
  },
  silent: true,
};

export default config;
