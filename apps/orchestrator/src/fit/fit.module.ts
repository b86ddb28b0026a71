import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { FitService } from './fit.service';

/** Needs the global CONFIG and LOGGER providers, and the Hub client of ModelsModule. */
@Module({
  imports: [ModelsModule],
  providers: [FitService],
  exports: [FitService],
})
export class FitModule {}
