// The directory's JSON shapes (docs/zaikio.md), as response schemas: what is not listed is never
// sent, so a column added to a table cannot leak through a resource.
export const ZaikioErrors = {
  type: 'object',
  properties: { errors: { anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } }] } },
  required: ['errors'], additionalProperties: false
} as const;

const Str = { type: 'string' } as const;
const Roles = { type: 'array', items: { type: 'string', enum: ['owner', 'admin', 'member'] } } as const;

export const OrganizationSchema = {
  type: 'object',
  properties: { id: Str, name: Str, country_code: { type: ['string', 'null'] }, created_at: Str, updated_at: Str },
  required: ['id', 'name', 'country_code', 'created_at', 'updated_at'], additionalProperties: false
} as const;

export const PersonRefSchema = {
  type: 'object', properties: { id: Str, name: Str, full_name: Str, email: Str }, required: ['id', 'name', 'full_name', 'email'], additionalProperties: false
} as const;

export const PersonMembershipSchema = {
  type: 'object', properties: { id: Str, roles: Roles, joined_at: Str, organization: OrganizationSchema }, required: ['id', 'roles', 'joined_at', 'organization'], additionalProperties: false
} as const;

export const OrganizationMembershipSchema = {
  type: 'object', properties: { id: Str, roles: Roles, joined_at: Str, person: PersonRefSchema }, required: ['id', 'roles', 'joined_at', 'person'], additionalProperties: false
} as const;

export const PersonSchema = {
  type: 'object',
  properties: { ...PersonRefSchema.properties, created_at: Str, updated_at: Str, organization_memberships: { type: 'array', items: PersonMembershipSchema } },
  required: [...PersonRefSchema.required, 'created_at', 'updated_at', 'organization_memberships'], additionalProperties: false
} as const;

/** `{organization: {name, country_code}}`; the fields are checked by the resource (422 field by field). */
export const OrganizationBody = {
  type: 'object',
  properties: {
    organization: {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 1000 }, country_code: { type: 'string', maxLength: 10 }, kinds: { type: 'array', items: { type: 'string', maxLength: 50 }, maxItems: 20 } },
      additionalProperties: false,
    },
  },
  required: ['organization'],
  additionalProperties: false,
} as const;

const Address = {
  type: 'object', properties: { name: Str, street: Str, postal_code: Str, city: Str, country_code: Str },
  required: ['name', 'street', 'postal_code', 'city', 'country_code'], additionalProperties: false,
} as const;

/** The organisation as its own token reads it: with its means of payment (the IBAN masked), or null. */
export const OrganizationDetailSchema = {
  type: 'object',
  properties: {
    ...OrganizationSchema.properties,
    means_of_payment: {
      anyOf: [
        { type: 'null' },
        { type: 'object', properties: { kind: { type: 'string', const: 'sepa_debit' }, holder: Str, iban: Str, bic: Str, mandate_reference: Str, mandate_date: Str }, required: ['kind', 'holder', 'iban', 'bic', 'mandate_reference', 'mandate_date'], additionalProperties: false },
        { type: 'object', properties: { kind: { type: 'string', const: 'invoice' }, billing_address: Address, vat_id: { type: ['string', 'null'] } }, required: ['kind', 'billing_address', 'vat_id'], additionalProperties: false },
      ],
    },
  },
  required: [...OrganizationSchema.required, 'means_of_payment'],
  additionalProperties: false,
} as const;
