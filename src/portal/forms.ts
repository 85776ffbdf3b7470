// Forms of the portal: running a form's action, and what a failed one shows. A failure keeps
// what was typed and puts every field's message beside its field (and all of them in one box at
// the top, for screen readers and for fields the page does not show); what the server refuses,
// the browser's own checks would have refused first where they can (the same limits in both).
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../lib/errors.js';
import { fieldName } from '../http/errors.js';
import { html, type SafeHtml } from '../lib/html.js';

/** Field name → its message ("must be at most 100 characters"). */
export type FieldErrors = Record<string, string>;

export interface FormFailure {
  status: number;
  /** The sentence for the box at the top of the form. */
  message: string;
  fields: FieldErrors;
}

/** A message without its leading "field: ", for showing beside that field. */
const bare = (message: string, field: string): string => message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;

interface AjvIssue { instancePath?: string; keyword?: string; message?: string; params?: Record<string, unknown> }

/** Every schema issue of a form post (form scopes validate with allErrors), by field. */
function schemaFailure(err: FastifyError): FormFailure {
  const fields: FieldErrors = {};
  for (const issue of (err.validation ?? []) as AjvIssue[]) {
    let field = fieldName(issue.instancePath ?? '').replace(/\[\d+\]$/, '');
    let message = issue.message ?? 'is not valid';
    if (issue.keyword === 'required' && typeof issue.params?.missingProperty === 'string') [field, message] = [issue.params.missingProperty, 'is required'];
    if (issue.keyword === 'maxLength') message = `must be at most ${String(issue.params?.limit)} characters`;
    if (issue.keyword === 'additionalProperties' && typeof issue.params?.additionalProperty === 'string') [field, message] = [issue.params.additionalProperty, 'is not a field of this form'];
    if (field && !fields[field]) fields[field] = message;
  }
  const [first] = Object.entries(fields);
  return { status: 400, message: first ? `${first[0]}: ${first[1]}` : 'The form is not valid', fields };
}

/** What a refused action tells the form: ApiError details name one field or several (`fields`). */
function apiFailure(err: ApiError): FormFailure {
  const fields: FieldErrors = {};
  const many = err.details?.fields;
  if (many && typeof many === 'object') Object.assign(fields, many as FieldErrors);
  else if (typeof err.details?.field === 'string') fields[err.details.field] = bare(err.message, err.details.field);
  return { status: err.status, message: err.message, fields };
}

/**
 * Runs a form's action. A schema failure (the route sets attachValidation) or an ApiError
 * re-renders the form through `onError` with the error's status; anything else is a fault and
 * goes to the scope's error page.
 */
export async function attempt(req: FastifyRequest, reply: FastifyReply, action: () => Promise<unknown>, onError: (failure: FormFailure) => unknown): Promise<unknown> {
  if (req.validationError) return onError(schemaFailure(req.validationError as FastifyError));
  try {
    return await action();
  } catch (err) {
    if (err instanceof ApiError) {
      if (err.retryAfter) void reply.header('retry-after', String(err.retryAfter));
      return onError(apiFailure(err));
    }
    throw err;
  }
}

export const noFailure: FormFailure = { status: 200, message: '', fields: {} };

/** The box at the top of a failed form. */
export function failureBox(f: FormFailure | undefined): SafeHtml {
  return f?.message ? html`<div class="error" role="alert">${f.message}</div>` : html``;
}

export interface FieldOptions {
  name: string;
  label: string;
  value?: unknown;
  type?: 'text' | 'email' | 'password' | 'tel' | 'url' | 'date';
  required?: boolean;
  minLength?: number;
  maxLength: number;
  placeholder?: string;
  autocomplete?: string;
  hint?: string;
  /** Render a textarea instead of an input. */
  multiline?: boolean;
}

/** A labelled input with its limits and, after a failure, its message (aria-describedby). */
export function field(o: FieldOptions, failure?: FormFailure): SafeHtml {
  const id = `f-${o.name}`;
  const error = failure?.fields[o.name];
  const value = typeof o.value === 'string' ? o.value : '';
  const attrs = html`id="${id}" name="${o.name}"${o.type === 'password' || o.multiline ? '' : html` value="${value}"`} maxlength="${o.maxLength}"${o.minLength ? html` minlength="${o.minLength}"` : ''}${o.required ? html` required` : ''}${o.placeholder ? html` placeholder="${o.placeholder}"` : ''}${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}${error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}`;
  return html`<label for="${id}">${o.label}</label>${o.multiline ? html`<textarea ${attrs}>${value}</textarea>` : html`<input type="${o.type ?? 'text'}" ${attrs}>`}
${error ? html`<p class="field-error" id="${id}-error">${error}</p>` : ''}${o.hint ? html`<p class="muted">${o.hint}</p>` : ''}`;
}

/** A field's message alone, for controls that are not plain inputs (checkbox lists, selects). */
export function fieldError(name: string, failure?: FormFailure): SafeHtml {
  const error = failure?.fields[name];
  return error ? html`<p class="field-error" id="f-${name}-error">${error}</p>` : html``;
}
