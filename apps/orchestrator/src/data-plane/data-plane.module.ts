import { Module } from '@nestjs/common';
import { DataPlaneController } from './data-plane.controller';

@Module({ controllers: [DataPlaneController] })
export class DataPlaneModule {}
