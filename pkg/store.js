// Encrypted persistence of gallery bytes in IndexedDB with WebCrypto (AES-GCM, 256-bit).
// The key is the app's: a CryptoKey, or a passphrase stretched with PBKDF2-SHA-256 and a random
// salt stored beside the ciphertext. Only template bytes are stored, never images.
import { WebverifyError, guardMethods } from './errors.js';

const PBKDF2_ITERATIONS = 600_000; // OWASP's 2023 figure for PBKDF2-HMAC-SHA256; new records only
/** The most iterations a stored record may ask for: a record is opened with the count it was
 * written with (so raising PBKDF2_ITERATIONS later keeps old galleries readable), and a garbled
 * count must not stall the page for hours. */
const MAX_PBKDF2_ITERATIONS = 10_000_000;
const FORMAT = 1;

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export class IndexedDBStore {
  #database;
  #record;
  #secret;

  /**
   * @param {{ database?: string, record?: string, key: CryptoKey | string }} options
   * `key`: an AES-GCM CryptoKey, or a passphrase.
   */
  constructor({ database = 'webverify', record = 'gallery', key } = {}) {
    const isKey = typeof CryptoKey !== 'undefined' && key instanceof CryptoKey;
    if (!isKey && !(typeof key === 'string' && key.length > 0)) {
      throw new WebverifyError('INVALID_INPUT', 'IndexedDBStore needs key: an AES-GCM CryptoKey or a non-empty passphrase');
    }
    if (isKey && (key.algorithm?.name !== 'AES-GCM' || !['encrypt', 'decrypt'].every((u) => key.usages.includes(u)))) {
      throw new WebverifyError('INVALID_INPUT', `IndexedDBStore needs an AES-GCM CryptoKey usable for encrypt and decrypt; this one is ${key.algorithm?.name} for ${key.usages.join(', ')}`);
    }
    this.#database = database;
    this.#record = record;
    this.#secret = key;
  }

  /** IndexedDB, and WebCrypto for what is encrypted, or BACKEND_UNAVAILABLE naming the one
   * missing. */
  static #require(encrypted = true) {
    if (typeof indexedDB === 'undefined') throw new WebverifyError('BACKEND_UNAVAILABLE', 'IndexedDBStore needs IndexedDB, which this context lacks (blocked storage, or a private mode that turns it off)');
    // Browsers give WebCrypto to secure contexts only: a page on http:// other than localhost
    // has no crypto.subtle.
    if (encrypted && (typeof crypto === 'undefined' || !crypto.subtle)) throw new WebverifyError('BACKEND_UNAVAILABLE', 'IndexedDBStore needs WebCrypto (crypto.subtle), which browsers give only to secure contexts (https:, or http://localhost)');
  }

  async #open() {
    const open = indexedDB.open(this.#database, 1);
    open.onupgradeneeded = () => open.result.createObjectStore('records');
    return request(open);
  }

  async #key(salt, iterations) {
    if (typeof this.#secret !== 'string') return this.#secret;
    const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(this.#secret), 'PBKDF2', false, ['deriveKey']);
    return crypto.subtle.deriveKey(
      { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
      material, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'],
    );
  }

  /** Encrypts and stores `bytes`, replacing what was there. */
  async write(bytes) {
    IndexedDBStore.#require();
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const additionalData = new TextEncoder().encode(this.#record);
    const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, await this.#key(salt, PBKDF2_ITERATIONS), bytes));
    const kdf = typeof this.#secret === 'string' ? { name: 'PBKDF2-SHA-256', iterations: PBKDF2_ITERATIONS, salt } : { name: 'none' };
    const db = await this.#open();
    try {
      const tx = db.transaction('records', 'readwrite');
      tx.objectStore('records').put({ format: FORMAT, kdf, iv, ciphertext }, this.#record);
      await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
    } finally {
      db.close();
    }
  }

  /** The decrypted bytes, or null when nothing is stored. WRONG_KEY when the key or passphrase
   * does not open it (or the record was tampered with). */
  async read() {
    IndexedDBStore.#require();
    const db = await this.#open();
    let stored;
    try {
      stored = await request(db.transaction('records').objectStore('records').get(this.#record));
    } finally {
      db.close();
    }
    if (stored === undefined) return null;
    // The record may have been written by another program: check its shape before use.
    const bytes = (x, n) => x instanceof Uint8Array && (n === undefined || x.length === n);
    if (stored === null || typeof stored !== 'object') {
      throw new WebverifyError('CORRUPT_DATA', 'the stored record is not a webverify gallery record');
    }
    if (stored.format !== FORMAT) {
      throw new WebverifyError('FORMAT_VERSION', `the stored gallery uses storage format ${stored.format}; this package reads ${FORMAT}`);
    }
    const { kdf, iv, ciphertext } = stored;
    const kdfOk = kdf && (kdf.name === 'none' || (kdf.name === 'PBKDF2-SHA-256' && bytes(kdf.salt, 16) && Number.isInteger(kdf.iterations) && kdf.iterations > 0 && kdf.iterations <= MAX_PBKDF2_ITERATIONS));
    if (!kdfOk || !bytes(iv, 12) || !bytes(ciphertext)) {
      throw new WebverifyError('CORRUPT_DATA', 'the stored record lacks or garbles its kdf, iv or ciphertext; it was not written by this package');
    }
    if ((stored.kdf.name === 'none') !== (typeof this.#secret !== 'string')) {
      throw new WebverifyError('WRONG_KEY', `the gallery was stored with ${stored.kdf.name === 'none' ? 'a CryptoKey' : 'a passphrase'}; open it the same way`);
    }
    try {
      const additionalData = new TextEncoder().encode(this.#record);
      // The record's own iteration count, not today's constant.
      const key = await this.#key(stored.kdf.salt, stored.kdf.iterations);
      return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: stored.iv, additionalData }, key, stored.ciphertext));
    } catch (e) {
      throw new WebverifyError('WRONG_KEY', 'cannot decrypt the stored gallery: wrong key or passphrase, or the record was modified', { cause: e });
    }
  }

  /** Deletes the stored gallery. */
  async clear() {
    IndexedDBStore.#require(false);
    const db = await this.#open();
    try {
      const tx = db.transaction('records', 'readwrite');
      tx.objectStore('records').delete(this.#record);
      await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
    } finally {
      db.close();
    }
  }
}

// Every method rejects only with WebverifyError (IndexedDB and WebCrypto throw DOMExceptions).
guardMethods(IndexedDBStore.prototype, ['write', 'read', 'clear']);
