// An organisation's lifecycle settings (DESIGN §7): four-eyes publication and the retention
// periods that give new items their default review-by date. That organisation's org_admins and
// platform administrators read and change them; the directory shows every organisation, so for
// anyone else an existing organisation is 403, a missing one 404. Changes apply to items created
// afterwards (the review-by trigger reads them at insert); existing review-by dates stay.
import type { Ctx } from '../../access/scope.js'
import { withinOrganisation } from '../../access/policy.js'
import { AppError, notFound } from '../../core/errors.js'
import { preconditionFailed } from '../../core/etag.js'
import type { OrganisationRow } from '../../db/schema/index.js'
import { organisationsRepository as repo } from '../organisations/organisations.repository.js'
import type { OrganisationSettings, OrganisationSettingsPatch } from './settings.schemas.js'

export function toSettings(row: OrganisationRow): OrganisationSettings {
  return {
    fourEyes: row.fourEyes,
    retention: { personalDataMonths: row.retentionPersonalMonths, otherMonths: row.retentionOtherMonths },
  }
}

function refuseOthers(ctx: Ctx, organisationId: string, verb: string) {
  if (!withinOrganisation(ctx.actor, organisationId)) {
    throw new AppError('forbidden', `Only that organisation's org_admins and platform administrators may ${verb} its settings.`)
  }
}

export const settingsService = {
  async get(ctx: Ctx, organisationId: string) {
    return ctx.tx(async (tx) => {
      const row = await repo.byId(tx, organisationId)
      if (!row) throw notFound('organisation')
      refuseOthers(ctx, organisationId, 'read')
      return { settings: toSettings(row), version: row.version }
    })
  },

  async update(ctx: Ctx, organisationId: string, patch: OrganisationSettingsPatch, expectedVersion: number | undefined) {
    return ctx.tx(async (tx, audit) => {
      const current = await repo.byIdForUpdate(tx, organisationId)
      if (!current) throw notFound('organisation')
      refuseOthers(ctx, organisationId, 'change')
      if (expectedVersion !== undefined && expectedVersion !== current.version) throw preconditionFailed(current.version)
      const row = await repo.update(tx, organisationId, current.version, {
        ...(patch.fourEyes !== undefined ? { fourEyes: patch.fourEyes } : {}),
        ...(patch.retention?.personalDataMonths !== undefined ? { retentionPersonalMonths: patch.retention.personalDataMonths } : {}),
        ...(patch.retention?.otherMonths !== undefined ? { retentionOtherMonths: patch.retention.otherMonths } : {}),
      })
      if (!row) throw preconditionFailed(current.version + 1)
      const before = toSettings(current)
      const after = toSettings(row)
      audit.set({ details: { changed: Object.keys(patch), before, after, version: row.version } })
      return { settings: after, version: row.version }
    })
  },
}
