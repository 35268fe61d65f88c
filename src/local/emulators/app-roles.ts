/**
 * App roles as Entra puts them in app-only tokens: an app role assignment on a resource (e.g.
 * Graph's `Application.ReadWrite.OwnedBy`) shows as the `roles` claim of tokens for that resource,
 * and the claim is absent when nothing is assigned. Shared by the Entra and managed-identity emulators.
 */

/** Resource URI (no trailing slash) -> the app roles assigned there. */
export type ResourceRoles = Readonly<Record<string, readonly string[]>>;

export function rolesClaim(roles: ResourceRoles | undefined, resource: string): { roles?: string[] } {
  const assigned = roles?.[resource.replace(/\/+$/, "")] ?? [];
  return assigned.length > 0 ? { roles: [...assigned] } : {};
}
