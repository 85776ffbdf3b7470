// Tessera's version, as package.json says (a test keeps the two equal): the OpenAPI document's.
export const VERSION = '0.1.0';
