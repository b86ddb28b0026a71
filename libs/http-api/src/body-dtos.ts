import type { BodyContract } from '@aiplane/contracts';
import { PromptDto } from './prompt.dto';
import { CreateServiceDto, UpdateStatusDto } from './services.dto';
import { CreateCollectionDto, SearchPointsDto, UpsertPointsDto } from './vector-db.dto';

/** The DTO that validates each body contract of the route table, on every hop that takes it. */
export const BODY_DTOS: Readonly<Record<BodyContract, new () => object>> = {
  CreateService: CreateServiceDto,
  UpdateStatus: UpdateStatusDto,
  Prompt: PromptDto,
  CreateCollection: CreateCollectionDto,
  UpsertPoints: UpsertPointsDto,
  SearchPoints: SearchPointsDto,
};
