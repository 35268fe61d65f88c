// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * Import rules of the house. Patterns are gitignore-style and match relative specifiers too
 * ("../http/problem.js"), so a file cannot slip past them by how it spells the path.
 */
const NO_HTTP = {
  patterns: [
    {
      group: ["**/http/**"],
      message: "Only src/http/ and src/functions/ import from src/http/: throw a domain error instead.",
    },
  ],
};
const NO_FUNCTIONS_SDK = {
  paths: [{ name: "@azure/functions", message: "Only src/functions/ may import @azure/functions." }],
  patterns: [{ group: ["@azure/functions/*"], message: "Only src/functions/ may import @azure/functions." }],
};
// The dev stack is how the emulators are reached, so all of src/local/ is out of bounds.
const NO_LOCAL = {
  patterns: [
    {
      group: ["**/local/**"],
      message: "Only src/local/ reaches the emulators and the dev stack.",
    },
  ],
};

/** One no-restricted-imports setting from several restrictions. */
function restrict(...parts) {
  return [
    "error",
    {
      paths: parts.flatMap((p) => p.paths ?? []),
      patterns: parts.flatMap((p) => p.patterns ?? []),
    },
  ];
}

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
    },
  },
  // The house's layers (issue 11): each file set below gets exactly the restrictions that apply
  // to it (a later flat-config entry replaces a rule's options, it does not add to them).
  {
    files: ["src/**/*.ts"],
    rules: { "no-restricted-imports": restrict(NO_HTTP, NO_FUNCTIONS_SDK, NO_LOCAL) },
  },
  { files: ["src/http/**/*.ts"], rules: { "no-restricted-imports": restrict(NO_FUNCTIONS_SDK, NO_LOCAL) } },
  { files: ["src/functions/**/*.ts"], rules: { "no-restricted-imports": restrict(NO_LOCAL) } },
  { files: ["src/local/**/*.ts"], rules: { "no-restricted-imports": restrict(NO_HTTP, NO_FUNCTIONS_SDK) } },
  {
    files: ["eslint.config.js", "scripts/**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: "readonly" } },
  },
);
