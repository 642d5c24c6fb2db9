import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { PropertyType, Property, SpecDatabase } from '@aws-cdk/service-spec-types';

/**
 * Checks a CloudFormation template offline against the current resource specification
 * (`@aws-cdk/aws-service-spec`, the data behind CDK): every resource type exists, every property
 * and nested property name is one the type has, required properties are present, values have the
 * right shape, and every Ref and Fn::GetAtt points at a resource (and attribute) that exists.
 * Returns one line per problem; none means valid.
 */
export function validateTemplate(template: { Resources?: Record<string, unknown>; Outputs?: Record<string, unknown> }, db: SpecDatabase = specDatabase()): string[] {
  const problems: string[] = [];
  const resources = (template.Resources ?? {}) as Record<string, { Type?: string; Properties?: unknown; [key: string]: unknown }>;
  const attributesOf = new Map<string, Set<string>>();

  for (const [id, resource] of Object.entries(resources)) {
    const [spec] = db.lookup('resource', 'cloudFormationType', 'equals', resource.Type ?? '');
    if (!spec) {
      problems.push(`${id}: unknown resource type ${resource.Type}`);
      continue;
    }
    attributesOf.set(id, new Set(Object.keys(spec.attributes)));
    for (const key of Object.keys(resource)) {
      if (!RESOURCE_KEYS.has(key)) problems.push(`${id}: "${key}" is not a resource attribute`);
    }
    checkObject(`${id}.Properties`, resource.Properties ?? {}, spec.properties, db, problems);
  }
  checkReferences(template, resources, attributesOf, problems);
  checkDependsOn(resources as Record<string, { DependsOn?: unknown }>, problems);
  return problems;
}

const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'DeletionPolicy', 'UpdateReplacePolicy', 'UpdatePolicy', 'CreationPolicy', 'Metadata']);
const PSEUDO = new Set(['AWS::AccountId', 'AWS::Partition', 'AWS::Region', 'AWS::StackName', 'AWS::StackId', 'AWS::URLSuffix', 'AWS::NoValue', 'AWS::NotificationARNs']);

let cached: SpecDatabase | undefined;
/** The resource specification database (about a second to load; loaded once). */
export function specDatabase(): SpecDatabase {
  cached ??= loadAwsServiceSpecSync();
  return cached;
}

function isIntrinsic(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'));
}

function checkObject(path: string, value: unknown, properties: Record<string, Property>, db: SpecDatabase, problems: string[]): void {
  if (isIntrinsic(value)) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${path}: expected an object`);
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const property = properties[key];
    if (!property) problems.push(`${path}.${key}: not a property of this type (known: ${Object.keys(properties).sort().join(', ')})`);
    else checkType(`${path}.${key}`, item, property.type, db, problems);
  }
  for (const [key, property] of Object.entries(properties)) {
    if (property.required && !(key in value)) problems.push(`${path}.${key}: required property is missing`);
  }
}

function checkType(path: string, value: unknown, type: PropertyType, db: SpecDatabase, problems: string[]): void {
  if (isIntrinsic(value)) return;
  const wrong = (expected: string) => problems.push(`${path}: expected ${expected}, got ${JSON.stringify(value)?.slice(0, 80)}`);
  switch (type.type) {
    case 'string':
      if (!['string', 'number', 'boolean'].includes(typeof value)) wrong('a string');
      return;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' && !(typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)))) wrong('a number');
      return;
    case 'boolean':
      if (typeof value !== 'boolean' && value !== 'true' && value !== 'false') wrong('a boolean');
      return;
    case 'array':
      if (!Array.isArray(value)) return void wrong('a list');
      for (const [index, item] of value.entries()) checkType(`${path}[${index}]`, item, type.element, db, problems);
      return;
    case 'map':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return void wrong('a map');
      for (const [key, item] of Object.entries(value)) checkType(`${path}.${key}`, item, type.element, db, problems);
      return;
    case 'ref': {
      const definition = db.get('typeDefinition', type.reference.$ref);
      checkObject(path, value, definition.properties, db, problems);
      return;
    }
    case 'tag':
      checkObject(path, value, { Key: { type: { type: 'string' }, required: true }, Value: { type: { type: 'string' }, required: true } } as Record<string, Property>, db, problems);
      return;
    case 'union': {
      const attempts = type.types.map((option) => {
        const found: string[] = [];
        checkType(path, value, option, db, found);
        return found;
      });
      if (!attempts.some((found) => found.length === 0)) problems.push(...(attempts.sort((a, b) => a.length - b.length)[0] ?? []));
      return;
    }
    default:
      return; // json, date-time and the like: any value
  }
}

/** Every Ref names a resource or a pseudo parameter; every Fn::GetAtt a resource attribute that exists. */
function checkReferences(template: object, resources: Record<string, unknown>, attributesOf: Map<string, Set<string>>, problems: string[]): void {
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) visit(item, `${path}[${i}]`);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const object = value as Record<string, unknown>;
    if (typeof object.Ref === 'string' && !(object.Ref in resources) && !PSEUDO.has(object.Ref)) problems.push(`${path}: Ref to unknown "${object.Ref}"`);
    const getAtt = object['Fn::GetAtt'];
    if (Array.isArray(getAtt)) {
      const [id, attribute] = getAtt as [string, string];
      if (!(id in resources)) problems.push(`${path}: Fn::GetAtt on unknown resource "${id}"`);
      else if (attributesOf.has(id) && !attributesOf.get(id)!.has(attribute)) problems.push(`${path}: ${id} has no attribute "${attribute}"`);
    }
    const substitution = object['Fn::Sub'];
    if (typeof substitution === 'string') {
      for (const [, name] of substitution.matchAll(/\$\{([^}!]+)\}/g)) {
        const [id, attribute] = name!.split('.');
        if (!(id! in resources) && !PSEUDO.has(name!)) problems.push(`${path}: Fn::Sub names unknown "${name}"`);
        else if (attribute && attributesOf.has(id!) && !attributesOf.get(id!)!.has(attribute)) problems.push(`${path}: ${id} has no attribute "${attribute}"`);
      }
    }
    for (const [key, item] of Object.entries(object)) visit(item, `${path}.${key}`);
  };
  visit(template, '');
}

/** Every DependsOn names a resource of the template (CloudFormation refuses the stack otherwise). */
function checkDependsOn(resources: Record<string, { DependsOn?: unknown }>, problems: string[]): void {
  for (const [id, resource] of Object.entries(resources)) {
    const names = resource.DependsOn === undefined ? [] : ([] as unknown[]).concat(resource.DependsOn);
    for (const name of names) {
      if (typeof name !== 'string' || !(name in resources)) problems.push(`${id}.DependsOn: unknown resource ${JSON.stringify(name)}`);
    }
  }
}
