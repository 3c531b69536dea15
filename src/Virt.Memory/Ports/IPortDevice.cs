namespace Virt.Memory;

/// <summary>
/// A device that serves a range of I/O ports. It sees the port as an offset from the first port
/// it registered, and only accesses of a width it declares in <see cref="SupportedWidths"/>.
/// The port space splits wider accesses into consecutive narrower ones (little-endian), serves a
/// narrower read by reading the supported width at the same port and taking the low bytes, and
/// ignores (and counts) a narrower write, since read-modify-write on ports has side effects.
/// </summary>
public interface IPortDevice
{
    /// <summary>The access widths this device handles directly (byte, word, double word).</summary>
    AccessWidths SupportedWidths { get; }

    /// <summary>Reads from a port.</summary>
    /// <param name="offset">The port minus the first port of the registration.</param>
    /// <param name="sizeInBytes">1, 2 or 4.</param>
    /// <returns>The value, zero-extended.</returns>
    uint Read(ushort offset, int sizeInBytes);

    /// <summary>Writes to a port.</summary>
    /// <param name="offset">The port minus the first port of the registration.</param>
    /// <param name="sizeInBytes">1, 2 or 4.</param>
    /// <param name="value">The value; only the low <paramref name="sizeInBytes"/> bytes are meaningful.</param>
    void Write(ushort offset, int sizeInBytes, uint value);
}
