import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { servedPath } from '@aiplane/contracts';
import { CreateCollectionDto, SearchPointsDto, UpsertPointsDto } from '@aiplane/http-api';
import { CollectionNamePipe, ServiceIdPipe } from '@aiplane/server-kit';
import {
  VectorDbService,
  type CollectionAck,
  type CollectionInfoResponse,
  type CollectionsResponse,
  type CreateCollectionResponse,
  type SearchResponse,
  type UpsertResponse,
} from './vector-db.service';

@Controller()
export class VectorDbController {
  constructor(private readonly vectorDb: VectorDbService) {}

  @Get(servedPath('vectorDb.collections', 'proxy'))
  collections(@Param('id', ServiceIdPipe) id: string): Promise<CollectionsResponse> {
    return this.vectorDb.collections(id);
  }

  @Get(servedPath('vectorDb.collection', 'proxy'))
  collection(
    @Param('id', ServiceIdPipe) id: string,
    @Param('name', CollectionNamePipe) name: string,
  ): Promise<CollectionInfoResponse> {
    return this.vectorDb.collection(id, name);
  }

  @Put(servedPath('vectorDb.createCollection', 'proxy'))
  createCollection(
    @Param('id', ServiceIdPipe) id: string,
    @Param('name', CollectionNamePipe) name: string,
    @Body() body: CreateCollectionDto,
  ): Promise<CreateCollectionResponse> {
    return this.vectorDb.createCollection(id, name, body);
  }

  @Delete(servedPath('vectorDb.deleteCollection', 'proxy'))
  deleteCollection(
    @Param('id', ServiceIdPipe) id: string,
    @Param('name', CollectionNamePipe) name: string,
  ): Promise<CollectionAck> {
    return this.vectorDb.deleteCollection(id, name);
  }

  @Put(servedPath('vectorDb.upsertPoints', 'proxy'))
  upsert(
    @Param('id', ServiceIdPipe) id: string,
    @Param('name', CollectionNamePipe) name: string,
    @Body() body: UpsertPointsDto,
  ): Promise<UpsertResponse> {
    return this.vectorDb.upsert(id, name, body);
  }

  @Post(servedPath('vectorDb.search', 'proxy'))
  @HttpCode(200)
  search(
    @Param('id', ServiceIdPipe) id: string,
    @Param('name', CollectionNamePipe) name: string,
    @Body() body: SearchPointsDto,
  ): Promise<SearchResponse> {
    return this.vectorDb.search(id, name, body);
  }
}
