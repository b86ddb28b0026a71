import { Module } from '@nestjs/common';
import { TargetsController } from './targets.controller';
import { TargetsService } from './targets.service';

/**
 * Needs only the global ServiceRegistry (PlatformModule in the app). Import it before ServicesModule:
 * routes register in import order, and `services/:id` would otherwise take `services/targets`.
 */
@Module({ controllers: [TargetsController], providers: [TargetsService] })
export class TargetsModule {}
