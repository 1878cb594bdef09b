// A secret or setting the Worker needs is missing or unusable: the operator must fix it.
export class ConfigurationError extends Error {}
