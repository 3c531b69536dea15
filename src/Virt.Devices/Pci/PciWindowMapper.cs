using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The stock <see cref="IPciWindowMapper"/>: memory windows are regions of a <see cref="PhysicalMemoryMap"/> (added
/// unmapped with <see cref="PhysicalMemoryMapBuilder.AddUnmappedMmio"/>, then moved and enabled), port windows are
/// registrations in an <see cref="IoPortSpace"/>. The map is usually built after the devices, so it is bound later with
/// <see cref="BindMemory"/>; until then memory requests fail with a message saying so.
/// </summary>
public sealed class PciWindowMapper : IPciWindowMapper
{
    private readonly IoPortSpace _ports;
    private readonly Dictionary<string, IDisposable> _portRegistrations = new(StringComparer.Ordinal);
    private PhysicalMemoryMap? _memory;

    /// <summary>Creates a mapper over a port space; bind the memory map with <see cref="BindMemory"/>.</summary>
    /// <param name="ports">The port space.</param>
    /// <param name="memory">The memory map, or null to bind it later.</param>
    public PciWindowMapper(IoPortSpace ports, PhysicalMemoryMap? memory = null)
    {
        _ports = ports ?? throw new ArgumentNullException(nameof(ports));
        _memory = memory;
    }

    /// <summary>Binds the memory map once it is built.</summary>
    /// <param name="memory">The map.</param>
    public void BindMemory(PhysicalMemoryMap memory) => _memory = memory ?? throw new ArgumentNullException(nameof(memory));

    /// <inheritdoc/>
    public bool TryMapMemory(string regionName, PhysicalAddress? start, out string? conflict)
    {
        ArgumentException.ThrowIfNullOrEmpty(regionName);
        if (_memory is not { } map)
        {
            conflict = $"PCI window '{regionName}': no memory map is bound yet.";
            return start is null;
        }

        if (start is not { } address)
        {
            map.SetRegionEnabled(regionName, false);
            conflict = null;
            return true;
        }

        MemoryRegionInfo? info = map.Regions.FirstOrDefault(r => r.Name == regionName);
        if (info is null)
        {
            throw new ArgumentException($"PCI window '{regionName}' has no region in the memory map; add it with AddUnmappedMmio.", nameof(regionName));
        }

        if (info.Enabled && info.Range.Start == address)
        {
            conflict = null;
            return true;
        }

        // Unmap first, so a move never conflicts with the window's own old place, then place and map it.
        map.SetRegionEnabled(regionName, false);
        if (info.Range.SizeInBytesMinusOne > ulong.MaxValue - address.Value)
        {
            conflict = $"PCI window '{regionName}' at {address} would run past the top of the address space.";
            return false;
        }

        map.MoveRegion(regionName, address);
        try
        {
            map.SetRegionEnabled(regionName, true);
        }
        catch (InvalidOperationException e)
        {
            conflict = e.Message;
            return false;
        }

        conflict = null;
        return true;
    }

    /// <inheritdoc/>
    public bool TryMapPorts(string name, ushort? firstPort, int count, IPortDevice device, out string? conflict)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(device);
        if (_portRegistrations.Remove(name, out IDisposable? old))
        {
            old.Dispose();
        }

        conflict = null;
        if (firstPort is not { } port)
        {
            return true;
        }

        if (count < 1 || port + count > IoPortSpace.PortCount)
        {
            conflict = $"PCI port window '{name}' at {port:X4}h with {count} ports runs past port FFFFh.";
            return false;
        }

        try
        {
            _portRegistrations[name] = _ports.Register(name, port, count, device);
            return true;
        }
        catch (InvalidOperationException e)
        {
            conflict = e.Message;
            return false;
        }
    }
}
