// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-confusing-void-expression": "off",
      // node:test's test()/describe() return promises the runner awaits itself.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            {
              from: "package",
              name: ["test", "describe", "it", "suite", "before", "after"],
              package: "node:test",
            },
          ],
        },
      ],
      // The domain must stay host-agnostic: only src/functions may import the Functions SDK.
      "no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "@azure/functions",
              message: "Only src/functions/azure*.ts may import @azure/functions.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/functions/azure.ts", "src/functions/azure-adapter.ts", "test/functions-entry.test.ts"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    files: ["eslint.config.js", "scripts/**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: "readonly" } },
  },
);
