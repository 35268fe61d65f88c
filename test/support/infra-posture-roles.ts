/**
 * Azure built-in role definition ids (the same in every subscription and tenant), by role name,
 * for every role infra/ may grant. A role id in infra/ that is not here fails `npm test`: ARM
 * would answer RoleDefinitionDoesNotExist only at deploy time.
 *
 * Source: Microsoft's "Azure built-in roles" reference
 * (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles;
 * MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles.md), where each row
 * gives name and id; cross-checked against Microsoft's Flex Consumption Bicep samples
 * (Azure-Samples, e.g. serverless-chat-langchainjs, functions-quickstart-*-azd), which grant the
 * same ids. Add a role here only from that reference, never from a template.
 */
export const BUILT_IN_ROLES = {
  "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
  "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
  "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
  "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
  "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
  "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
} as const;

export type BuiltInRoleName = keyof typeof BUILT_IN_ROLES;

const NAMES_BY_ID = new Map<string, string>(
  Object.entries(BUILT_IN_ROLES).map(([name, id]) => [id.toLowerCase(), name]),
);

/** The built-in role's name for an id, or undefined when the id is not a (known) built-in role. */
export function builtInRoleName(id: string): string | undefined {
  return NAMES_BY_ID.get(id.toLowerCase());
}
