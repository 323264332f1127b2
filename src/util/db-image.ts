import Database from "better-sqlite3";

/**
 * The bytes of a SQLite database made in memory by `build`: a ready-made image that a new
 * file can start as, instead of SQLite creating the file and its schema there (a journal of
 * its own and a flush for each step).
 */
export function imageOf(build: (db: Database.Database) => void): Buffer {
  const db = new Database(":memory:");
  try {
    build(db);
    return db.serialize();
  } finally {
    db.close();
  }
}

/**
 * Marks an image as a WAL database, in place: header bytes 18 and 19 (file format write and
 * read versions) are 2 (https://sqlite.org/fileformat2.html#file_format_version_numbers),
 * what PRAGMA journal_mode = WAL would persist, which a database in memory cannot be put in.
 */
export function asWal(image: Buffer): Buffer {
  image[18] = 2;
  image[19] = 2;
  return image;
}
