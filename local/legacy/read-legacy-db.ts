import { readFile } from 'node:fs/promises';
import initSqlJs, { type Database } from 'sql.js';
import * as z from 'zod';

/**
 * Reads the original Flask portal's SQLite database (app.db) with sql.js, a pure WebAssembly
 * SQLite, since native SQLite modules do not build everywhere. Only the tables import-legacy needs
 * are read, and never the `password_hash` or the clusters' `password` columns.
 */

/** The file is not an SQLite database of the original portal. */
export class LegacyDatabaseError extends Error {
  override readonly name = 'LegacyDatabaseError';
}

// SQLite has no booleans: 0/1 (or NULL).
const sqlBool = z
  .union([z.number(), z.null()])
  .transform((v) => v === 1)
  .default(false);
const nullableText = z.string().nullable().default(null);
const nullableInt = z.number().int().nullable().default(null);

export const LegacyUserSchema = z.object({
  id: z.number().int(),
  username: z.string(),
  role: z.string().nullable().default('user'),
});
export type LegacyUser = z.infer<typeof LegacyUserSchema>;

export const LegacyClassSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  description: nullableText,
  teacher_id: nullableInt,
  deployment_cluster: nullableText,
});
export type LegacyClass = z.infer<typeof LegacyClassSchema>;

export const LegacyMembershipSchema = z.object({ user_id: z.number().int(), class_id: z.number().int() });
export type LegacyMembership = z.infer<typeof LegacyMembershipSchema>;

export const LegacyVmAssignmentSchema = z.object({
  id: z.number().int(),
  class_id: nullableInt,
  proxmox_vmid: z.number().int(),
  vm_name: nullableText,
  assigned_user_id: nullableInt,
  status: nullableText,
  is_template_vm: sqlBool,
  is_teacher_vm: sqlBool,
});
export type LegacyVmAssignment = z.infer<typeof LegacyVmAssignmentSchema>;

/** What import-legacy reads from the database. */
export interface LegacyData {
  users: LegacyUser[];
  classes: LegacyClass[];
  enrollments: LegacyMembership[];
  coOwners: LegacyMembership[];
  vmAssignments: LegacyVmAssignment[];
}

function tableColumns(db: Database, table: string): Set<string> | null {
  const result = db.exec(`PRAGMA table_info(${JSON.stringify(table)})`);
  const rows = result[0]?.values ?? [];
  if (rows.length === 0) return null;
  return new Set(rows.map((row) => String(row[1])));
}

function readRows<S extends z.ZodType>(
  db: Database,
  table: string,
  wanted: readonly string[],
  schema: S,
  required: boolean,
): z.infer<S>[] {
  const columns = tableColumns(db, table);
  if (columns === null) {
    if (required)
      throw new LegacyDatabaseError(`table ${table} is missing: not the original portal's database`);
    return [];
  }
  // Older databases lack some columns: select only those present (the schema fills the defaults).
  const present = wanted.filter((c) => columns.has(c));
  const statement = db.prepare(`SELECT ${present.map((c) => `"${c}"`).join(', ')} FROM "${table}"`);
  const rows: z.infer<S>[] = [];
  try {
    while (statement.step()) {
      const raw = statement.getAsObject();
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new LegacyDatabaseError(
          `table ${table}: row ${JSON.stringify(raw.id ?? rows.length + 1)}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`,
        );
      }
      rows.push(parsed.data);
    }
  } finally {
    statement.free();
  }
  return rows;
}

/** Reads the tables import-legacy needs from an SQLite file's bytes. */
export async function readLegacyDatabase(bytes: Uint8Array): Promise<LegacyData> {
  const SQL = await initSqlJs();
  let db: Database;
  try {
    db = new SQL.Database(bytes);
    db.exec('SELECT name FROM sqlite_master LIMIT 1');
  } catch (error) {
    throw new LegacyDatabaseError(
      `not an SQLite database (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  try {
    return {
      users: readRows(db, 'users', ['id', 'username', 'role'], LegacyUserSchema, true),
      classes: readRows(
        db,
        'classes',
        ['id', 'name', 'description', 'teacher_id', 'deployment_cluster'],
        LegacyClassSchema,
        false,
      ),
      enrollments: readRows(db, 'class_enrollments', ['user_id', 'class_id'], LegacyMembershipSchema, false),
      coOwners: readRows(db, 'class_co_owners', ['user_id', 'class_id'], LegacyMembershipSchema, false),
      vmAssignments: readRows(
        db,
        'vm_assignments',
        [
          'id',
          'class_id',
          'proxmox_vmid',
          'vm_name',
          'assigned_user_id',
          'status',
          'is_template_vm',
          'is_teacher_vm',
        ],
        LegacyVmAssignmentSchema,
        false,
      ),
    };
  } finally {
    db.close();
  }
}

/** Reads an SQLite file from disk (see {@link readLegacyDatabase}). */
export async function readLegacyDatabaseFile(path: string): Promise<LegacyData> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'error';
    throw new LegacyDatabaseError(`${path}: cannot read the file (${code})`);
  }
  try {
    return await readLegacyDatabase(new Uint8Array(bytes));
  } catch (error) {
    if (error instanceof LegacyDatabaseError) throw new LegacyDatabaseError(`${path}: ${error.message}`);
    throw error;
  }
}
