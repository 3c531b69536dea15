using System.Globalization;

namespace Virt.Memory;

/// <summary>
/// The x86 I/O port space: 65,536 byte-addressed ports. Devices register port ranges; dispatch is
/// one array index per port (no dictionary). Unregistered ports read as all ones and ignore writes,
/// and both are counted. Registration can change at run time (PCI I/O BARs), but two registrations
/// never overlap.
/// </summary>
public sealed class IoPortSpace
{
    /// <summary>The number of ports in the space.</summary>
    public const int PortCount = 65536;

    private readonly ushort[] _slotByPort = new ushort[PortCount]; // 0 = unmapped, else index+1 into _registrations
    private readonly List<Registration?> _registrations = [];
    private readonly bool _strict;

    /// <summary>Creates an empty port space.</summary>
    /// <param name="strict">When true, accesses to unregistered ports throw <see cref="UnmappedAccessException"/> (for tests).</param>
    public IoPortSpace(bool strict = false)
    {
        _strict = strict;
    }

    /// <summary>Counters of unserved accesses.</summary>
    public PortAccessStatistics Statistics { get; } = new();

    /// <summary>Registers a device for <paramref name="count"/> ports starting at <paramref name="firstPort"/>.</summary>
    /// <param name="name">A name for messages, for example <c>"COM1"</c>.</param>
    /// <param name="firstPort">The first port.</param>
    /// <param name="count">The number of consecutive ports (1 to 65536 - firstPort).</param>
    /// <param name="device">The device; it sees offsets from <paramref name="firstPort"/>.</param>
    /// <returns>A handle that unregisters the range when disposed.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When the range is empty or runs past port FFFFh.</exception>
    /// <exception cref="ArgumentException">When the device supports no width.</exception>
    /// <exception cref="InvalidOperationException">When the range overlaps a registered one; the message names both.</exception>
    public IDisposable Register(string name, ushort firstPort, int count, IPortDevice device)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(device);
        if (count < 1 || firstPort + count > PortCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"Port range of '{name}' at {FormatPort(firstPort)} with {count} ports must hold 1 to {PortCount - firstPort} ports.");
        }

        if ((device.SupportedWidths & AccessWidths.UpToDoubleWord) == 0)
        {
            throw new ArgumentException($"Port device '{name}' at {FormatPort(firstPort)} declares no supported access width (byte, word or double word).", nameof(device));
        }

        int last = firstPort + count - 1;
        for (int port = firstPort; port <= last; port++)
        {
            int slot = _slotByPort[port];
            if (slot != 0)
            {
                Registration other = _registrations[slot - 1]!;
                throw new InvalidOperationException(
                    $"Port range of '{name}' [{FormatPort(firstPort)}..{FormatPort((ushort)last)}] overlaps '{other.Name}' [{FormatPort(other.FirstPort)}..{FormatPort(other.LastPort)}].");
            }
        }

        int index = _registrations.IndexOf(null);
        if (index < 0)
        {
            index = _registrations.Count;
            if (index >= ushort.MaxValue)
            {
                throw new InvalidOperationException($"Too many port registrations to add '{name}'.");
            }

            _registrations.Add(null);
        }

        var registration = new Registration(this, name, firstPort, (ushort)last, device, index);
        _registrations[index] = registration;
        for (int port = firstPort; port <= last; port++)
        {
            _slotByPort[port] = (ushort)(index + 1);
        }

        return registration;
    }

    /// <summary>Whether some device serves <paramref name="port"/>.</summary>
    /// <param name="port">The port.</param>
    /// <returns>True when registered.</returns>
    public bool IsRegistered(ushort port) => _slotByPort[port] != 0;

    /// <summary>The name of the registration serving <paramref name="port"/>, or null.</summary>
    /// <param name="port">The port.</param>
    /// <returns>The name given at registration.</returns>
    public string? GetRegistrationName(ushort port)
    {
        int slot = _slotByPort[port];
        return slot == 0 ? null : _registrations[slot - 1]!.Name;
    }

    /// <summary>Reads a byte from a port.</summary>
    /// <param name="port">The port.</param>
    /// <returns>The value; 0xFF when unmapped.</returns>
    public byte ReadByte(ushort port) => (byte)Read(port, 1);

    /// <summary>Reads a word from a port.</summary>
    /// <param name="port">The port.</param>
    /// <returns>The value; 0xFFFF when unmapped.</returns>
    public ushort ReadWord(ushort port) => (ushort)Read(port, 2);

    /// <summary>Reads a double word from a port.</summary>
    /// <param name="port">The port.</param>
    /// <returns>The value; 0xFFFFFFFF when unmapped.</returns>
    public uint ReadDoubleWord(ushort port) => Read(port, 4);

    /// <summary>Writes a byte to a port.</summary>
    /// <param name="port">The port.</param>
    /// <param name="value">The value.</param>
    public void WriteByte(ushort port, byte value) => Write(port, 1, value);

    /// <summary>Writes a word to a port.</summary>
    /// <param name="port">The port.</param>
    /// <param name="value">The value.</param>
    public void WriteWord(ushort port, ushort value) => Write(port, 2, value);

    /// <summary>Writes a double word to a port.</summary>
    /// <param name="port">The port.</param>
    /// <param name="value">The value.</param>
    public void WriteDoubleWord(ushort port, uint value) => Write(port, 4, value);

    /// <summary>Reads <paramref name="sizeInBytes"/> bytes (1, 2 or 4) from consecutive ports starting at <paramref name="port"/>.</summary>
    /// <param name="port">The first port.</param>
    /// <param name="sizeInBytes">1, 2 or 4.</param>
    /// <returns>The value, little-endian; unmapped bytes read as FFh.</returns>
    public uint Read(ushort port, int sizeInBytes)
    {
        int slot = _slotByPort[port];
        if (slot != 0)
        {
            Registration r = _registrations[slot - 1]!;
            AccessWidths width = WidthOf(sizeInBytes);
            // Fast path: the device takes this width and the access stays inside its range.
            if ((r.Device.SupportedWidths & width) != 0 && port + sizeInBytes - 1 <= r.LastPort)
            {
                return r.Device.Read((ushort)(port - r.FirstPort), sizeInBytes);
            }
        }

        return ReadSlow(port, sizeInBytes);
    }

    /// <summary>Writes <paramref name="sizeInBytes"/> bytes (1, 2 or 4) to consecutive ports starting at <paramref name="port"/>.</summary>
    /// <param name="port">The first port.</param>
    /// <param name="sizeInBytes">1, 2 or 4.</param>
    /// <param name="value">The value, little-endian.</param>
    public void Write(ushort port, int sizeInBytes, uint value)
    {
        int slot = _slotByPort[port];
        if (slot != 0)
        {
            Registration r = _registrations[slot - 1]!;
            AccessWidths width = WidthOf(sizeInBytes);
            if ((r.Device.SupportedWidths & width) != 0 && port + sizeInBytes - 1 <= r.LastPort)
            {
                r.Device.Write((ushort)(port - r.FirstPort), sizeInBytes, value);
                return;
            }
        }

        WriteSlow(port, sizeInBytes, value);
    }

    private static AccessWidths WidthOf(int sizeInBytes) => sizeInBytes switch
    {
        1 => AccessWidths.Byte,
        2 => AccessWidths.Word,
        4 => AccessWidths.DoubleWord,
        _ => throw new ArgumentOutOfRangeException(nameof(sizeInBytes), $"Port access size must be 1, 2 or 4 bytes, not {sizeInBytes}."),
    };

    private uint ReadSlow(ushort port, int sizeInBytes)
    {
        _ = WidthOf(sizeInBytes);
        int slot = _slotByPort[port];
        if (slot == 0)
        {
            if (sizeInBytes == 1)
            {
                CountUnmappedRead(port);
                return 0xFF;
            }
        }
        else
        {
            Registration r = _registrations[slot - 1]!;
            bool fits = port + sizeInBytes - 1 <= r.LastPort;
            AccessWidths supported = r.Device.SupportedWidths;
            if (fits)
            {
                // Narrower than every supported width: read the narrowest wider width and keep the low bytes.
                for (int wider = sizeInBytes * 2; wider <= 4; wider *= 2)
                {
                    if ((supported & WidthOf(wider)) != 0 && port + wider - 1 <= r.LastPort)
                    {
                        uint v = r.Device.Read((ushort)(port - r.FirstPort), wider);
                        return sizeInBytes == 1 ? v & 0xFF : v & 0xFFFF;
                    }
                }
            }
        }

        if (sizeInBytes == 1)
        {
            // A byte the device cannot serve at all (it only takes wider accesses that do not fit).
            CountUnmappedRead(port);
            return 0xFF;
        }

        // Split into two halves, low half at the lower port (little-endian).
        int half = sizeInBytes / 2;
        uint low = Read(port, half);
        uint high = Read(unchecked((ushort)(port + half)), half);
        return low | (high << (half * 8));
    }

    private void WriteSlow(ushort port, int sizeInBytes, uint value)
    {
        _ = WidthOf(sizeInBytes);
        if (sizeInBytes > 1)
        {
            // Split into halves, low half at the lower port (little-endian); each half is dispatched again.
            int half = sizeInBytes / 2;
            uint mask = half == 1 ? 0xFFu : 0xFFFFu;
            Write(port, half, value & mask);
            Write(unchecked((ushort)(port + half)), half, (value >> (half * 8)) & mask);
            return;
        }

        if (_slotByPort[port] == 0)
        {
            CountUnmappedWrite(port);
        }
        else
        {
            // A byte write to a device that only takes wider accesses: a read-modify-write would
            // have side effects on ports, so the write is dropped and counted.
            Interlocked.Increment(ref Statistics.IgnoredNarrowWriteCount);
        }
    }

    private void CountUnmappedRead(ushort port)
    {
        Interlocked.Increment(ref Statistics.UnmappedReadCount);
        if (_strict)
        {
            throw new UnmappedAccessException($"Read of unmapped I/O port {FormatPort(port)}.");
        }
    }

    private void CountUnmappedWrite(ushort port)
    {
        Interlocked.Increment(ref Statistics.UnmappedWriteCount);
        if (_strict)
        {
            throw new UnmappedAccessException($"Write to unmapped I/O port {FormatPort(port)}.");
        }
    }

    private static string FormatPort(ushort port) => port.ToString("X4", CultureInfo.InvariantCulture) + "h";

    private void Unregister(Registration registration)
    {
        if (_registrations[registration.Index] != registration)
        {
            return;
        }

        for (int port = registration.FirstPort; port <= registration.LastPort; port++)
        {
            _slotByPort[port] = 0;
        }

        _registrations[registration.Index] = null;
    }

    private sealed class Registration(IoPortSpace owner, string name, ushort firstPort, ushort lastPort, IPortDevice device, int index) : IDisposable
    {
        public string Name { get; } = name;

        public ushort FirstPort { get; } = firstPort;

        public ushort LastPort { get; } = lastPort;

        public IPortDevice Device { get; } = device;

        public int Index { get; } = index;

        public void Dispose() => owner.Unregister(this);
    }
}
