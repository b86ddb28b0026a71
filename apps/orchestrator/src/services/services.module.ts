import { Module } from '@nestjs/common';
import { FitModule } from '../fit/fit.module';
import { ServiceGroupsController } from '../service-groups/service-groups.controller';
import { ServicesController } from './services.controller';
import { ServicesService } from './services.service';

@Module({
  imports: [FitModule],
  controllers: [ServicesController, ServiceGroupsController],
  providers: [ServicesService],
  exports: [ServicesService],
})
export class ServicesModule {}
