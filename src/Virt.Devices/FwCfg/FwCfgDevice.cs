using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices.FwCfg;

/// <summary>
/// QEMU's firmware configuration device as the x86 pc machine has it (QEMU docs/specs/fw_cfg.rst): a 16-bit selector
/// port (510h), an 8-bit data port (511h) that reads the selected item byte by byte, and the DMA interface (514h-51Bh:
/// a 64-bit big-endian address of an <c>FWCfgDmaAccess</c> structure, written as two 32-bit halves; the write of the low
/// half starts the transfer). SeaBIOS reads its e820 map, boot order, SMBIOS and ACPI tables through it.
/// </summary>
/// <remarks>
/// Guest mistakes never throw: unknown keys and reads past an item's end give 0 (DMA reads fill with zeros), writes
/// through the data port are ignored (as since QEMU 2.4), and a DMA request that touches memory it cannot reach or writes
/// a read-only item ends with the error bit in its control word.
/// </remarks>
public sealed class FwCfgDevice : IPortMappedDevice, IStatefulDevice<FwCfgState>
{
    /// <summary>"QEMU CFG", what a read of the DMA address register returns (big-endian, so the bytes read "QEMU CFG").</summary>
    public const ulong DmaSignature = 0x5145_4D55_2043_4647;

    /// <summary>The size of an <c>FWCfgDmaAccess</c> structure: control, length (32-bit each) and address (64-bit), big-endian.</summary>
    public const int DmaAccessSizeInBytes = 16;

    /// <summary>The size of one file directory entry: size (32), select (16), reserved (16), name (56 bytes).</summary>
    public const int DirectoryEntrySizeInBytes = 64;

    /// <summary>The selector bits that choose an item (bit 15 picks the architecture bank, bit 14 is ignored).</summary>
    private const ushort KeyMask = unchecked((ushort)~FwCfgKeys.WriteChannel);

    private const int DmaRegisterSizeInBytes = 8;
    private const int DmaLowHalfOffset = 4;

    /// <summary>The size of the chunk a DMA transfer moves at a time (bounds the scratch buffer for zero fills and writes).</summary>
    private const int DmaChunkSizeInBytes = 4096;

    private readonly Dictionary<ushort, Item> _items = [];
    private readonly IGuestMemory _memory;
    private readonly ILogger _logger;
    private readonly PortBinding[] _bindings;
    private ushort _selector;
    private uint _offset;
    private uint _dmaAddressHigh;

    /// <summary>Creates the device.</summary>
    /// <param name="content">The items to serve (copied: later changes to it do not reach the device).</param>
    /// <param name="memory">Guest memory, for the DMA interface.</param>
    /// <param name="options">Ports and name; QEMU's x86 defaults when null.</param>
    /// <param name="logger">Logs guest mistakes at Debug level.</param>
    public FwCfgDevice(FwCfgContent content, IGuestMemory memory, FwCfgOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(memory);
        options ??= new FwCfgOptions();
        ArgumentException.ThrowIfNullOrEmpty(options.Name);
        _memory = memory;
        _logger = logger ?? NullLogger.Instance;
        Name = options.Name;
        DmaEnabled = options.DmaEnabled;

        _items[FwCfgKeys.Signature] = new Item("QEMU"u8.ToArray(), Writable: false);
        byte[] id = new byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(id, FwCfgKeys.FeatureTraditional | (DmaEnabled ? FwCfgKeys.FeatureDma : 0));
        _items[FwCfgKeys.Id] = new Item(id, Writable: false);
        foreach ((ushort key, byte[] data) in content.Items)
        {
            _items[key] = new Item([.. data], Writable: false);
        }

        IReadOnlyList<FwCfgFile> files = content.GetDirectory();
        byte[] directory = new byte[sizeof(uint) + (files.Count * DirectoryEntrySizeInBytes)];
        BinaryPrimitives.WriteUInt32BigEndian(directory, (uint)files.Count);
        for (int i = 0; i < files.Count; i++)
        {
            FwCfgFile file = files[i];
            Span<byte> entry = directory.AsSpan(sizeof(uint) + (i * DirectoryEntrySizeInBytes), DirectoryEntrySizeInBytes);
            BinaryPrimitives.WriteUInt32BigEndian(entry, (uint)file.SizeInBytes);
            BinaryPrimitives.WriteUInt16BigEndian(entry[4..], file.Key);
            Encoding.ASCII.GetBytes(file.Name, entry[8..]);
            _items[file.Key] = new Item(content.GetFile(file.Name).ToArray(), file.Writable);
        }

        _items[FwCfgKeys.FileDirectory] = new Item(directory, Writable: false);
        Files = files;

        var bindings = new List<PortBinding> { new(Name, options.SelectorPort, 2, new SelectorDataPorts(this)) };
        if (DmaEnabled)
        {
            bindings.Add(new PortBinding(Name + " DMA", options.DmaPort, DmaRegisterSizeInBytes, new DmaPorts(this)));
        }

        _bindings = [.. bindings];
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>Whether the DMA interface is present.</summary>
    public bool DmaEnabled { get; }

    /// <summary>The file directory the guest sees.</summary>
    public IReadOnlyList<FwCfgFile> Files { get; }

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings => _bindings;

    /// <summary>The selector last written.</summary>
    public ushort Selector => _selector;

    /// <summary>The read offset within the selected item.</summary>
    public uint Offset => _offset;

    /// <summary>The current bytes of an item (a writable file may have been changed by the guest), or null when there is no such key.</summary>
    /// <param name="key">The key (the write-channel bit is ignored).</param>
    /// <returns>A copy of the bytes, or null.</returns>
    public byte[]? GetItem(ushort key) => _items.TryGetValue((ushort)(key & KeyMask), out Item? item) ? [.. item.Data] : null;

    /// <summary>Selects an item and rewinds the offset, as a write to the selector port does.</summary>
    /// <param name="key">The selector value.</param>
    public void Select(ushort key)
    {
        _selector = key;
        _offset = 0;
    }

    /// <summary>Reads the next byte of the selected item, as the data port does: 0 past its end or for an unknown key.</summary>
    /// <returns>The byte.</returns>
    public byte ReadData()
    {
        if (!_items.TryGetValue((ushort)(_selector & KeyMask), out Item? item) || _offset >= (uint)item.Data.Length)
        {
            return 0;
        }

        return item.Data[_offset++];
    }

    /// <summary>Runs the DMA request whose <c>FWCfgDmaAccess</c> structure is at <paramref name="address"/>, as a write of the low address half does.</summary>
    /// <param name="address">The guest physical address of the structure.</param>
    public void RunDma(ulong address)
    {
        Span<byte> access = stackalloc byte[DmaAccessSizeInBytes];
        if (!TryRead(address, access))
        {
            return; // nowhere to report the error: QEMU gives up the same way
        }

        var control = (FwCfgDmaControl)BinaryPrimitives.ReadUInt32BigEndian(access);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(access[4..]);
        ulong target = BinaryPrimitives.ReadUInt64BigEndian(access[8..]);
        if ((control & FwCfgDmaControl.Select) != 0)
        {
            Select((ushort)((uint)control >> 16));
        }

        // fw_cfg.rst: read takes precedence over write, write over skip; a request with none of them does nothing.
        bool read = (control & FwCfgDmaControl.Read) != 0;
        bool write = !read && (control & FwCfgDmaControl.Write) != 0;
        bool skip = !read && !write && (control & FwCfgDmaControl.Skip) != 0;
        if (!read && !write && !skip)
        {
            length = 0;
        }

        bool error = false;
        _items.TryGetValue((ushort)(_selector & KeyMask), out Item? item);
        while (length > 0 && !error)
        {
            uint available = item is null || _offset >= (uint)item.Data.Length ? 0 : (uint)item.Data.Length - _offset;
            if (available == 0)
            {
                // Past the end (or no item): reads fill the rest with zeros, writes fail, skips just finish.
                if (read)
                {
                    error = !TryFill(target, length);
                }
                else if (write)
                {
                    error = true;
                }

                target += length;
                length = 0;
                break;
            }

            uint chunk = Math.Min(length, available);
            if (read)
            {
                error = !TryWrite(target, item!.Data.AsSpan((int)_offset, (int)chunk));
            }
            else if (write)
            {
                // fw_cfg.rst: only writable items take writes, and a write must fit in what is left of the item.
                error = !item!.Writable || chunk != length || !TryRead(target, item.Data.AsSpan((int)_offset, (int)chunk));
            }

            if (!error)
            {
                _offset += chunk;
            }

            target += chunk;
            length -= chunk;
        }

        if (error && _logger.IsEnabled(LogLevel.Debug))
        {
            _logger.LogDebug("{Device}: DMA request at 0x{Address:X} (control 0x{Control:X8}) failed", Name, address, (uint)control);
        }

        Span<byte> result = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32BigEndian(result, error ? (uint)FwCfgDmaControl.Error : 0);
        TryWrite(address, result);
    }

    /// <inheritdoc/>
    public void Reset()
    {
        _selector = 0;
        _offset = 0;
        _dmaAddressHigh = 0;
    }

    /// <inheritdoc/>
    public FwCfgState SaveState() => new(FwCfgState.CurrentVersion, _selector, _offset, _dmaAddressHigh);

    /// <inheritdoc/>
    public void RestoreState(FwCfgState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != FwCfgState.CurrentVersion)
        {
            throw new ArgumentException($"{Name}: unsupported FwCfgState version {state.Version} (expected {FwCfgState.CurrentVersion}).", nameof(state));
        }

        _selector = state.Selector;
        _offset = state.Offset;
        _dmaAddressHigh = state.DmaAddressHigh;
    }

    private bool TryRead(ulong address, Span<byte> destination)
    {
        if (address > ulong.MaxValue - (ulong)destination.Length)
        {
            return false;
        }

        try
        {
            _memory.Read(new PhysicalAddress(address), destination);
            return true;
        }
        catch (UnmappedAccessException)
        {
            return false; // strict memory maps throw on holes; the guest gets the error bit instead
        }
    }

    private bool TryWrite(ulong address, ReadOnlySpan<byte> source)
    {
        if (address > ulong.MaxValue - (ulong)source.Length)
        {
            return false;
        }

        try
        {
            _memory.Write(new PhysicalAddress(address), source);
            return true;
        }
        catch (UnmappedAccessException)
        {
            return false;
        }
    }

    private bool TryFill(ulong address, uint length)
    {
        Span<byte> zeros = stackalloc byte[DmaChunkSizeInBytes];
        zeros.Clear();
        while (length > 0)
        {
            int chunk = (int)Math.Min(length, DmaChunkSizeInBytes);
            if (!TryWrite(address, zeros[..chunk]))
            {
                return false;
            }

            address += (uint)chunk;
            length -= (uint)chunk;
        }

        return true;
    }

    private void WriteDmaRegister(ushort offset, int sizeInBytes, uint value)
    {
        // The register is big-endian: the guest stores each half byte-swapped (SeaBIOS: outl(cpu_to_be32(addr)), so
        // the port sees the most significant byte first. Only aligned 32-bit halves are taken, as in QEMU.
        if (sizeInBytes != sizeof(uint) || (offset & 3) != 0)
        {
            return;
        }

        uint half = BinaryPrimitives.ReverseEndianness(value);
        if (offset < DmaLowHalfOffset)
        {
            _dmaAddressHigh = half;
            return;
        }

        ulong address = ((ulong)_dmaAddressHigh << 32) | half;
        _dmaAddressHigh = 0;
        RunDma(address);
    }

    private uint ReadDmaRegister(ushort offset, int sizeInBytes)
    {
        // The signature in big-endian byte order: port 514h reads 'Q', 515h 'E', ... 51Bh 'G'.
        uint result = 0;
        for (int i = 0; i < sizeInBytes && offset + i < DmaRegisterSizeInBytes; i++)
        {
            uint b = (uint)(DmaSignature >> (8 * (DmaRegisterSizeInBytes - 1 - (offset + i)))) & 0xFF;
            result |= b << (8 * i);
        }

        return result;
    }

    private sealed record Item(byte[] Data, bool Writable);

    /// <summary>510h: a 16-bit write selects; 8-bit reads at either port read data (QEMU's combined x86 register).</summary>
    private sealed class SelectorDataPorts(FwCfgDevice device) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte | AccessWidths.Word;

        public uint Read(ushort offset, int sizeInBytes)
        {
            uint value = device.ReadData();
            if (sizeInBytes == 2)
            {
                value |= (uint)device.ReadData() << 8;
            }

            return value;
        }

        public void Write(ushort offset, int sizeInBytes, uint value)
        {
            // A 16-bit write selects (at 510h, or straddling into 511h as QEMU's combined register takes it); an 8-bit
            // write is a data-port write, ignored since QEMU 2.4 (writes go through DMA).
            if (sizeInBytes == 2)
            {
                device.Select((ushort)value);
            }
        }
    }

    /// <summary>514h-51Bh: the DMA address register (32-bit halves, big-endian).</summary>
    private sealed class DmaPorts(FwCfgDevice device) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.UpToDoubleWord;

        public uint Read(ushort offset, int sizeInBytes) => device.ReadDmaRegister(offset, sizeInBytes);

        public void Write(ushort offset, int sizeInBytes, uint value) => device.WriteDmaRegister(offset, sizeInBytes, value);
    }
}
