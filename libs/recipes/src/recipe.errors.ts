/** A recipe file that cannot be used; the message names the file and the field. */
export class RecipeError extends Error {
  readonly code = 'INVALID_RECIPE' as const;

  constructor(
    message: string,
    readonly file: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'RecipeError';
  }
}

/** A user's service config that cannot be honoured; the message is meant for the person who sent it. */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG' as const;

  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Input the renderer refuses: a caller bug, never a user mistake (users reach it through mergeConfig). */
export class RenderError extends Error {
  readonly code = 'INVALID_RENDER_INPUT' as const;

  constructor(message: string) {
    super(message);
    this.name = 'RenderError';
  }
}
