import {
  CliError,
  EXIT,
  errorFromResponse,
  exitCodeForStatus,
  isUnreachable,
  messageOfBody,
  unreachableError,
} from './cli.errors';

describe('exit codes', () => {
  it.each([
    [404, EXIT.notFound],
    [400, EXIT.refused],
    [409, EXIT.refused],
    [413, EXIT.refused],
    [429, EXIT.refused],
    [500, EXIT.serverError],
    [502, EXIT.serverError],
    [503, EXIT.serverError],
  ])('HTTP %i → %i', (status, code) => {
    expect(exitCodeForStatus(status)).toBe(code);
  });

  it('are distinct for every kind of failure', () => {
    const codes = Object.values(EXIT);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe('the message of an error body', () => {
  it.each([
    [
      'the control plane',
      { statusCode: 404, error: 'Not Found', message: 'Service 12 not found' },
      'Service 12 not found',
    ],
    [
      'a list of messages',
      { statusCode: 400, error: 'Bad Request', message: ['a is bad', 'b is bad'] },
      'a is bad; b is bad',
    ],
    [
      'the data plane',
      { success: false, error: 'not_ready', message: 'Service 12 is pending' },
      'Service 12 is pending',
    ],
    [
      'OpenAI',
      { error: { message: 'The model `x` does not exist', type: 'invalid_request_error' } },
      'The model `x` does not exist',
    ],
    ['an error word alone', { error: 'Bad Gateway' }, 'Bad Gateway'],
    ['plain text', '  upstream timed out \n', 'upstream timed out'],
  ])('%s', (_what, body, message) => {
    expect(messageOfBody(body)).toBe(message);
  });

  it('is absent when the body says nothing', () => {
    expect(messageOfBody({})).toBeUndefined();
    expect(messageOfBody('')).toBeUndefined();
    expect(messageOfBody(null)).toBeUndefined();
  });

  it('becomes a CliError naming what was asked, the message and the status', () => {
    const error = errorFromResponse(404, { message: 'Service 12 not found' }, 'service 12');
    expect(error).toBeInstanceOf(CliError);
    expect(error.message).toBe('service 12: Service 12 not found (HTTP 404)');
    expect(error.exitCode).toBe(EXIT.notFound);
    expect(errorFromResponse(502, '', 'logs of 1').message).toBe('logs of 1: HTTP 502 (HTTP 502)');
  });
});

describe('an unreachable gateway', () => {
  const refused = Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8001'), { code: 'ECONNREFUSED' }),
  });

  it('is recognised from fetch’s cause', () => {
    expect(isUnreachable(refused)).toBe(true);
    expect(isUnreachable(new Error('something else'))).toBe(false);
  });

  it('says which URL, why, and what to do', () => {
    const error = unreachableError('http://127.0.0.1:8001', refused);
    expect(error.exitCode).toBe(EXIT.unreachable);
    expect(error.message).toBe(
      'cannot reach the gateway at http://127.0.0.1:8001 (ECONNREFUSED): start the stack with `npm start`, ' +
        'or point --url (or AIPLANE_URL) at a running gateway',
    );
  });
});
