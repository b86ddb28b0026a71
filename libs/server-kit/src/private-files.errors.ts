/** Why a path in a private directory was refused: carried as data so callers can say it plainly. */
export type UnsafePathReason =
  'symlink' | 'not-regular' | 'not-directory' | 'foreign-owner' | 'shared-writable';

export class UnsafePathError extends Error {
  readonly code = 'UNSAFE_PATH';

  constructor(
    readonly path: string,
    readonly reason: UnsafePathReason,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
