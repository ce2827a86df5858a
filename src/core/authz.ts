// Authorisation checks every service runs first, with an explicit actor (STYLE habit 6).
import type { Actor } from './actor.js'
import { AppError } from './errors.js'
import type { Role } from './roles.js'

export function hasAny(actor: Actor, roles: readonly Role[]): boolean {
  return roles.some((r) => actor.roles.has(r))
}

/** 403 unless the actor holds one of the roles. Role checks never depend on the item, so they leak nothing. */
export function requireAny(actor: Actor, roles: readonly Role[]): void {
  if (!hasAny(actor, roles)) {
    throw new AppError('forbidden', `This action needs one of the roles: ${roles.join(', ')}.`)
  }
}
