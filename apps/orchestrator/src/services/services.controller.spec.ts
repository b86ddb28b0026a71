import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { ServicesController } from './services.controller';

describe('ServicesController', () => {
  it('answers a create with 200, not 201: the document’s clients check for exactly 200', () => {
    expect(Reflect.getMetadata(HTTP_CODE_METADATA, ServicesController.prototype.start)).toBe(200);
  });
});
