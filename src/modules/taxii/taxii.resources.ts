// The TAXII 2.1 resources (§4–§5) as DCX answers them, for openapi.yaml: discovery, API root,
// collections, manifest, envelope, status, versions and the error message. The routes send these
// bodies themselves (taxii.media.ts sendTaxii, a Buffer, so fastify never serialises them);
// test/helper.ts checks every response the suite sees against the document they make.
import { z } from 'zod'
import { TAXII_MEDIA_TYPE } from './taxii.media.js'

const url = z.string().describe('An absolute URL')
const stixObject = z
  .object({ type: z.string(), id: z.string(), spec_version: z.string().optional() })
  .catchall(z.unknown())
  .describe('A STIX 2.1 object (each one validates against the OASIS schemas)')
const timestamp = z.string().describe('A STIX timestamp (RFC 3339, UTC, millisecond precision)')

export const taxiiError = z
  .object({
    title: z.string(),
    description: z.string().optional(),
    error_id: z.string().optional().describe('The request id: quote it when reporting a problem'),
    error_code: z.string().optional(),
    http_status: z.string().optional(),
    external_details: z.string().optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'TaxiiError', description: 'TAXII 2.1 error message (§3.6.1)' })

export const taxiiDiscovery = z
  .object({
    title: z.string(),
    description: z.string().optional(),
    contact: z.string().optional(),
    default: url.optional(),
    api_roots: z.array(url).optional(),
  })
  .meta({ id: 'TaxiiDiscovery', description: 'TAXII 2.1 discovery resource (§4.1.1)' })

export const taxiiApiRoot = z
  .object({
    title: z.string(),
    description: z.string().optional(),
    versions: z.array(z.string()),
    max_content_length: z.number().int().min(0),
  })
  .meta({ id: 'TaxiiApiRoot', description: 'TAXII 2.1 API root resource (§4.2.1)' })

export const taxiiCollection = z
  .object({
    id: z.string(),
    title: z.string(),
    description: z.string().optional(),
    alias: z.string().optional(),
    can_read: z.boolean(),
    can_write: z.boolean(),
    media_types: z.array(z.string()).optional(),
  })
  .meta({ id: 'TaxiiCollection', description: 'TAXII 2.1 collection resource (§5.2.1): one of the audiences that reach the caller' })

export const taxiiCollections = z
  .object({ collections: z.array(taxiiCollection).optional() })
  .meta({ id: 'TaxiiCollections', description: 'TAXII 2.1 collections resource (§5.1.1)' })

export const taxiiManifest = z
  .object({
    more: z.boolean().optional(),
    next: z.string().optional(),
    objects: z.array(z.object({ id: z.string(), date_added: timestamp, version: z.string(), media_type: z.string().optional() })).optional(),
  })
  .meta({ id: 'TaxiiManifest', description: 'TAXII 2.1 manifest resource (§5.3.1)' })

export const taxiiEnvelope = z
  .object({ more: z.boolean().optional(), next: z.string().optional(), objects: z.array(stixObject).optional() })
  .meta({ id: 'TaxiiEnvelope', description: 'TAXII 2.1 envelope (§3.7): a page of STIX objects' })

const statusDetail = z.object({ id: z.string(), version: z.string(), message: z.string().optional() })
export const taxiiStatus = z
  .object({
    id: z.string(),
    status: z.enum(['pending', 'complete']),
    request_timestamp: timestamp.optional(),
    total_count: z.number().int().min(0),
    success_count: z.number().int().min(0),
    successes: z.array(statusDetail).optional(),
    failure_count: z.number().int().min(0),
    failures: z.array(statusDetail).optional(),
    pending_count: z.number().int().min(0),
    pendings: z.array(statusDetail).optional(),
  })
  .meta({ id: 'TaxiiStatus', description: 'TAXII 2.1 status resource (§4.3.1): pending until a large push is imported, then complete' })

export const taxiiVersions = z
  .object({ more: z.boolean().optional(), next: z.string().optional(), versions: z.array(z.string()).optional() })
  .meta({ id: 'TaxiiVersions', description: 'TAXII 2.1 versions resource (§5.7.1)' })

/** Response entries in the TAXII media type: `ok` for the success status, the TAXII error for the rest. */
export function taxiiResponses(ok: Record<number, z.ZodType>, ...errors: number[]) {
  const media = (schema: z.ZodType) => (schema instanceof z.ZodNull ? schema : { content: { [TAXII_MEDIA_TYPE]: { schema } } })
  return {
    ...Object.fromEntries(Object.entries(ok).map(([status, schema]) => [status, media(schema)])),
    ...Object.fromEntries(errors.map((s) => [s, media(taxiiError)])),
  }
}
