// extension-mapper: who owns a call. The old service read `extensions:` from its YAML config
// and looked emails up in a plain object; this one keeps the same small interface and leaves
// the map (and its default-email fallback) to pbx-node.
import { ExtensionMap, type Config, type User } from 'pbx-node'

export class ExtensionMapper {
  private map: ExtensionMap

  constructor(map: ExtensionMap) {
    this.map = map
  }

  /** The `extensions` section of a loaded configuration (`map` and `default_email`). */
  static fromConfig(config: Config): ExtensionMapper {
    return new ExtensionMapper(ExtensionMap.fromConfig(config))
  }

  /** A map given as the old config's object: extension → email or { email, name }. */
  static fromObject(
    mappings: Record<string, string | { email: string; name?: string }>,
    defaultEmail?: string,
  ): ExtensionMapper {
    return new ExtensionMapper(new ExtensionMap(mappings, defaultEmail))
  }

  /** The email a call of `extension` is attributed to, or null (such a call is skipped). */
  getEmail(extension: string): string | null {
    return this.map.emailFor(extension)
  }

  /** The mapped user, or null. */
  getUser(extension: string): User | null {
    return this.map.get(extension)
  }

  /** Replaces the map, e.g. after a config reload or an XAPI /Users refresh. */
  reload(map: ExtensionMap): void {
    this.map = map
  }

  /** The pbx-node map, for `new CallMapper(map, …)`. */
  get extensionMap(): ExtensionMap {
    return this.map
  }

  get size(): number {
    return this.map.size
  }
}
