using System.Buffers.Binary;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The base of a PCI function, for host and board authors (PCI Local Bus Specification 3.0, chapter 6): a 256-byte
/// configuration space with per-bit writable and write-one-to-clear masks, the identity registers, up to six base
/// address registers and an expansion ROM whose windows move in the memory map or port space when the guest programs
/// them, INTx# through the board's routing, MSI, and DMA through guest memory.
/// </summary>
/// <remarks>
/// <para>
/// A derived class defines its resources in its constructor (<see cref="DefineMemoryBar"/>, <see cref="DefineIoBar"/>,
/// <see cref="DefineExpansionRom"/>, <see cref="AddMsiCapability"/>, device-specific registers with
/// <see cref="Configuration"/> and <see cref="SetWritableMask"/>), then the board attaches it to a <see cref="PciBus"/>
/// with <see cref="PciBus.Attach"/>. The configuration space as it stands then is the power-on image that
/// <see cref="Reset"/> restores.
/// </para>
/// <para>
/// BARs behave as the specification says: the low bits are read-only type bits, the bits below the size are
/// read-only zero, so writing all ones and reading back gives the size mask. A window is decoded while the command
/// register's I/O or memory space bit is set and its address is neither 0 nor (for sizing) at the very top of its
/// space, as QEMU decides; a window that would overlap another is left unmapped and counted in
/// <see cref="MappingConflictCount"/>.
/// </para>
/// <para>
/// Register and capability layout is the device's; the base class knows the header (00h-3Fh) and the MSI capability.
/// Derived classes react to guest writes in <see cref="OnConfigurationWritten"/> and reset their own state in
/// <see cref="OnReset"/>. Stateful devices save <see cref="SaveConfiguration"/> inside their own record.
/// </para>
/// </remarks>
public abstract class PciDevice : IDevice
{
    /// <summary>The size of a conventional PCI configuration space.</summary>
    public const int ConfigurationSpaceSizeInBytes = 256;

    /// <summary>The number of base address registers in a type 0 header.</summary>
    public const int BarCount = 6;

    /// <summary>The index <see cref="PciBar.Index"/> gives the expansion ROM.</summary>
    public const int ExpansionRomIndex = 6;

    /// <summary>The smallest memory BAR (16 bytes, PCI 3.0 6.2.5.1).</summary>
    public const ulong MinimumMemoryBarSizeInBytes = 16;

    /// <summary>The smallest I/O BAR (4 ports).</summary>
    public const int MinimumIoBarSizeInPorts = 4;

    /// <summary>The largest I/O BAR (256 ports, PCI 3.0 6.2.5.1).</summary>
    public const int MaximumIoBarSizeInPorts = 256;

    /// <summary>The smallest expansion ROM window (2 KiB: address bits 31:11).</summary>
    public const int MinimumExpansionRomSizeInBytes = 2048;

    // The command bits a function implements by default: I/O, memory, bus master, parity error response, SERR#, interrupt disable.
    private const ushort DefaultWritableCommand = PciConfigurationRegisters.CommandIoSpace | PciConfigurationRegisters.CommandMemorySpace |
        PciConfigurationRegisters.CommandBusMaster | PciConfigurationRegisters.CommandParityErrorResponse |
        PciConfigurationRegisters.CommandSerrEnable | PciConfigurationRegisters.CommandInterruptDisable;

    private const uint BarIoSpace = 0x1;
    private const uint BarMemoryType64 = 0x4;
    private const uint BarPrefetchable = 0x8;
    private const uint BarIoAddressMask = 0xFFFF_FFFC;
    private const uint BarMemoryAddressMask = 0xFFFF_FFF0;
    private const uint RomEnable = 0x1;
    private const uint RomAddressMask = 0xFFFF_F800;
    private const ulong LastIoPort = 0xFFFF;
    private const ulong LastAddress32 = 0xFFFF_FFFF;

    // MSI capability (PCI 3.0, 6.8.1): message control bits and field offsets from the capability start.
    private const ushort MsiControlEnable = 0x0001;
    private const ushort MsiControl64Bit = 0x0080;
    private const int MsiControlOffset = 2;
    private const int MsiAddressOffset = 4;
    private const int MsiMultipleMessageCapableShift = 1;
    private const int MsiMultipleMessageEnableShift = 4;

    private readonly byte[] _config = new byte[ConfigurationSpaceSizeInBytes];
    private readonly byte[] _writable = new byte[ConfigurationSpaceSizeInBytes];
    private readonly byte[] _writeOneToClear = new byte[ConfigurationSpaceSizeInBytes];
    private readonly PciBar?[] _bars = new PciBar?[BarCount + 1];
    private readonly ulong?[] _requested = new ulong?[BarCount + 1];
    private byte[]? _powerOnConfig;
    private byte[]? _powerOnWritable;
    private PciBus? _bus;
    private PciFunctionAddress _address;
    private IInterruptLine? _intx;
    private bool _interruptRequested;
    private int _lastCapability;
    private int _msiOffset = -1;

    /// <summary>Creates a function with its identity registers and the default writable bits of the header.</summary>
    /// <param name="name">A unique device name for messages, logs and snapshots, for example <c>"pci-scratch"</c>.</param>
    /// <param name="identity">Vendor, device, class, revision, subsystem, interrupt pin, power-on command and status.</param>
    protected PciDevice(string name, PciDeviceIdentity identity)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(identity);
        if (identity.ClassCode > 0xFF_FFFF)
        {
            throw new ArgumentOutOfRangeException(nameof(identity), $"PCI device '{name}': class code {identity.ClassCode:X}h has more than 24 bits.");
        }

        if (!Enum.IsDefined(identity.InterruptPin))
        {
            throw new ArgumentOutOfRangeException(nameof(identity), $"PCI device '{name}': interrupt pin {(int)identity.InterruptPin} is not 0-4.");
        }

        Name = name;
        Identity = identity;
        SetWord(PciConfigurationRegisters.VendorId, identity.VendorId);
        SetWord(PciConfigurationRegisters.DeviceId, identity.DeviceId);
        SetWord(PciConfigurationRegisters.Command, identity.Command);
        SetWord(PciConfigurationRegisters.Status, (ushort)(identity.Status & ~(PciConfigurationRegisters.StatusInterrupt | PciConfigurationRegisters.StatusCapabilitiesList)));
        _config[PciConfigurationRegisters.RevisionId] = identity.RevisionId;
        _config[PciConfigurationRegisters.ProgrammingInterface] = (byte)identity.ClassCode;
        _config[PciConfigurationRegisters.SubClass] = (byte)(identity.ClassCode >> 8);
        _config[PciConfigurationRegisters.BaseClass] = (byte)(identity.ClassCode >> 16);
        SetWord(PciConfigurationRegisters.SubsystemVendorId, identity.SubsystemVendorId);
        SetWord(PciConfigurationRegisters.SubsystemId, identity.SubsystemId);
        _config[PciConfigurationRegisters.InterruptPin] = (byte)identity.InterruptPin;
        SetWritableMask(PciConfigurationRegisters.Command, 2, DefaultWritableCommand);
        SetWriteOneToClearMask(PciConfigurationRegisters.Status, 2, PciConfigurationRegisters.StatusWriteOneToClear);
        SetWritableMask(PciConfigurationRegisters.CacheLineSize, 1, 0xFF);
        SetWritableMask(PciConfigurationRegisters.LatencyTimer, 1, 0xFF);
        SetWritableMask(PciConfigurationRegisters.InterruptLine, 1, 0xFF);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The identity given at construction.</summary>
    public PciDeviceIdentity Identity { get; }

    /// <summary>Whether the function is attached to a bus.</summary>
    public bool IsAttached => _bus is not null;

    /// <summary>Where the function sits on its bus.</summary>
    /// <exception cref="InvalidOperationException">When it is not attached.</exception>
    public PciFunctionAddress Address => _bus is not null ? _address : throw new InvalidOperationException($"PCI device '{Name}' is not attached to a bus.");

    /// <summary>The BARs and the expansion ROM the function defined, by index.</summary>
    public IReadOnlyList<PciBar> Bars => [.. _bars.OfType<PciBar>()];

    /// <summary>The command register.</summary>
    public ushort CommandRegister => ReadWord(PciConfigurationRegisters.Command);

    /// <summary>Whether the function's INTx# output is asserted now (requested, not disabled, MSI off).</summary>
    public bool IsInterruptAsserted => EffectiveInterruptLevel;

    /// <summary>Whether MSI is enabled in the function's MSI capability.</summary>
    public bool IsMsiEnabled => _msiOffset >= 0 && (ReadWord(_msiOffset + MsiControlOffset) & MsiControlEnable) != 0;

    /// <summary>How many times a window could not be mapped where the guest put it (it overlapped something else).</summary>
    public long MappingConflictCount { get; private set; }

    /// <summary>How many DMA transfers or MSI writes were refused because bus mastering was off or the function was not attached.</summary>
    public long RefusedBusMasterCount { get; private set; }

    /// <summary>The configuration bytes, for a derived class to set up its registers (in its constructor) and read them.</summary>
    protected Span<byte> Configuration => _config;

    /// <summary>The guest memory the function's DMA reaches, or null before it is attached.</summary>
    protected IGuestMemory? GuestMemory => _bus?.Memory;

    private bool EffectiveInterruptLevel =>
        _interruptRequested && (CommandRegister & PciConfigurationRegisters.CommandInterruptDisable) == 0 && !IsMsiEnabled;

    /// <summary>
    /// A configuration read, as the bus performs it for the guest: <paramref name="sizeInBytes"/> bytes little-endian
    /// from <paramref name="register"/>, the status register's interrupt bit reflecting the function's request.
    /// </summary>
    /// <param name="register">The byte offset (0-255).</param>
    /// <param name="sizeInBytes">1, 2 or 4; the access must not run past the end of the space.</param>
    /// <returns>The value, zero-extended.</returns>
    public uint ReadConfiguration(int register, int sizeInBytes)
    {
        CheckAccess(register, sizeInBytes);
        uint value = 0;
        for (int i = sizeInBytes - 1; i >= 0; i--)
        {
            value = (value << 8) | ReadByteWithStatus(register + i);
        }

        return OnConfigurationRead(register, sizeInBytes, value);
    }

    /// <summary>
    /// A configuration write, as the bus performs it for the guest: each bit changes only where the writable mask has
    /// a one, write-one-to-clear bits clear where a one is written, and BAR, command and MSI changes take effect at once.
    /// </summary>
    /// <param name="register">The byte offset (0-255).</param>
    /// <param name="sizeInBytes">1, 2 or 4; the access must not run past the end of the space.</param>
    /// <param name="value">The value; its low <paramref name="sizeInBytes"/> bytes are written.</param>
    public void WriteConfiguration(int register, int sizeInBytes, uint value)
    {
        CheckAccess(register, sizeInBytes);
        for (int i = 0; i < sizeInBytes; i++)
        {
            int offset = register + i;
            byte b = (byte)(value >> (8 * i));
            byte writable = _writable[offset];
            byte cleared = (byte)(b & _writeOneToClear[offset]);
            _config[offset] = (byte)(((_config[offset] & ~writable) | (b & writable)) & ~cleared);
        }

        int last = register + sizeInBytes - 1;
        if (Overlaps(register, last, PciConfigurationRegisters.Command, 2) || Overlaps(register, last, PciConfigurationRegisters.Bar0, 4 * BarCount) ||
            Overlaps(register, last, PciConfigurationRegisters.ExpansionRomBase, 4))
        {
            UpdateWindows();
        }

        if (Overlaps(register, last, PciConfigurationRegisters.Command, 2) || (_msiOffset >= 0 && Overlaps(register, last, _msiOffset + MsiControlOffset, 2)))
        {
            UpdateInterrupt();
        }

        OnConfigurationWritten(register, sizeInBytes);
    }

    /// <summary>
    /// Puts the function in its power-on state: the configuration space as it was when attached (so every window is
    /// unmapped and decoding is off), no interrupt requested; then <see cref="OnReset"/>.
    /// </summary>
    public void Reset()
    {
        CapturePowerOnImage();
        _powerOnConfig.AsSpan().CopyTo(_config);
        _powerOnWritable.AsSpan().CopyTo(_writable);
        _interruptRequested = false;
        UpdateWindows();
        UpdateInterrupt();
        OnReset();
    }

    internal void AttachTo(PciBus bus, PciFunctionAddress address)
    {
        if (_bus is not null)
        {
            throw new InvalidOperationException($"PCI device '{Name}' is already attached at {_address}.");
        }

        _bus = bus;
        _address = address;
        CapturePowerOnImage();
        if (Identity.InterruptPin != PciInterruptPin.None && bus.InterruptRouter is { } router)
        {
            _intx = router.CreateIntxLine(address, Identity.InterruptPin, Name);
        }
    }

    /// <summary>Called after every configuration read; a device may return another value (default: the value).</summary>
    /// <param name="register">The first byte read.</param>
    /// <param name="sizeInBytes">1, 2 or 4.</param>
    /// <param name="value">The value from the configuration bytes.</param>
    /// <returns>What the guest sees.</returns>
    protected virtual uint OnConfigurationRead(int register, int sizeInBytes, uint value) => value;

    /// <summary>Called after a guest configuration write was applied through the masks (default: nothing).</summary>
    /// <param name="register">The first byte written.</param>
    /// <param name="sizeInBytes">1, 2 or 4.</param>
    protected virtual void OnConfigurationWritten(int register, int sizeInBytes)
    {
    }

    /// <summary>Called at the end of <see cref="Reset"/>, for the device's own state (default: nothing).</summary>
    protected virtual void OnReset()
    {
    }

    /// <summary>Sets which bits of <paramref name="sizeInBytes"/> bytes at <paramref name="register"/> the guest may write.</summary>
    /// <param name="register">The first byte.</param>
    /// <param name="sizeInBytes">1 to 4.</param>
    /// <param name="mask">The writable bits, little-endian.</param>
    protected void SetWritableMask(int register, int sizeInBytes, uint mask) => SetMask(_writable, register, sizeInBytes, mask);

    /// <summary>Sets which bits of <paramref name="sizeInBytes"/> bytes at <paramref name="register"/> a guest write of 1 clears (status bits).</summary>
    /// <param name="register">The first byte.</param>
    /// <param name="sizeInBytes">1 to 4.</param>
    /// <param name="mask">The write-one-to-clear bits, little-endian.</param>
    protected void SetWriteOneToClearMask(int register, int sizeInBytes, uint mask) => SetMask(_writeOneToClear, register, sizeInBytes, mask);

    /// <summary>Reads a little-endian word of the configuration bytes (no side effects).</summary>
    /// <param name="register">The offset.</param>
    /// <returns>The word.</returns>
    protected ushort ReadWord(int register) => BinaryPrimitives.ReadUInt16LittleEndian(_config.AsSpan(register));

    /// <summary>Reads a little-endian dword of the configuration bytes (no side effects).</summary>
    /// <param name="register">The offset.</param>
    /// <returns>The dword.</returns>
    protected uint ReadDoubleWord(int register) => BinaryPrimitives.ReadUInt32LittleEndian(_config.AsSpan(register));

    /// <summary>
    /// Defines memory BAR <paramref name="index"/> (a 64-bit BAR also takes <paramref name="index"/> + 1), served by
    /// <paramref name="handler"/>, which sees offsets within the window.
    /// </summary>
    /// <param name="index">0-5 (0-4 for a 64-bit BAR).</param>
    /// <param name="sizeInBytes">A power of two, at least 16 (at most 2 GiB for a 32-bit BAR).</param>
    /// <param name="handler">The MMIO handler.</param>
    /// <param name="is64Bit">Whether the BAR is 64-bit.</param>
    /// <param name="prefetchable">Whether the window is prefetchable (no read side effects).</param>
    /// <returns>The BAR.</returns>
    protected PciBar DefineMemoryBar(int index, ulong sizeInBytes, IMmioDevice handler, bool is64Bit = false, bool prefetchable = false)
    {
        ArgumentNullException.ThrowIfNull(handler);
        CheckBarSlot(index, is64Bit ? 2 : 1);
        if (sizeInBytes < MinimumMemoryBarSizeInBytes || (sizeInBytes & (sizeInBytes - 1)) != 0 || (!is64Bit && sizeInBytes > 1UL << 31))
        {
            throw new ArgumentOutOfRangeException(nameof(sizeInBytes), $"PCI device '{Name}' BAR{index}: {sizeInBytes} bytes is not a power of two from 16 bytes{(is64Bit ? string.Empty : " to 2 GiB")}.");
        }

        var bar = new PciBar(index, is64Bit ? PciBarKind.Memory64 : PciBarKind.Memory32, sizeInBytes, prefetchable, handler, null, $"{Name} BAR{index}");
        _bars[index] = bar;
        uint typeBits = (is64Bit ? BarMemoryType64 : 0) | (prefetchable ? BarPrefetchable : 0);
        int register = bar.RegisterOffset;
        SetDoubleWord(register, typeBits);
        SetWritableMask(register, 4, (uint)~(sizeInBytes - 1) & BarMemoryAddressMask);
        if (is64Bit)
        {
            SetDoubleWord(register + 4, 0);
            SetWritableMask(register + 4, 4, (uint)(~(sizeInBytes - 1) >> 32));
        }

        return bar;
    }

    /// <summary>Defines I/O BAR <paramref name="index"/>, served by <paramref name="handler"/>, which sees offsets within the window.</summary>
    /// <param name="index">0-5.</param>
    /// <param name="sizeInPorts">A power of two from 4 to 256.</param>
    /// <param name="handler">The port handler.</param>
    /// <returns>The BAR.</returns>
    protected PciBar DefineIoBar(int index, int sizeInPorts, IPortDevice handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        CheckBarSlot(index, 1);
        if (sizeInPorts is < MinimumIoBarSizeInPorts or > MaximumIoBarSizeInPorts || (sizeInPorts & (sizeInPorts - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeInPorts), $"PCI device '{Name}' BAR{index}: {sizeInPorts} ports is not a power of two from 4 to 256.");
        }

        var bar = new PciBar(index, PciBarKind.Io, (ulong)sizeInPorts, prefetchable: false, null, handler, $"{Name} BAR{index}");
        _bars[index] = bar;
        SetDoubleWord(bar.RegisterOffset, BarIoSpace);
        SetWritableMask(bar.RegisterOffset, 4, (uint)~(sizeInPorts - 1) & BarIoAddressMask);
        return bar;
    }

    /// <summary>
    /// Defines the expansion ROM (register 30h) holding <paramref name="image"/>: the window is the image size rounded
    /// up to a power of two (at least 2 KiB), read-only, decoded while ROM bit 0 and memory space decoding are both set.
    /// </summary>
    /// <param name="image">The ROM bytes (copied); at most 16 MiB.</param>
    /// <returns>The ROM's BAR.</returns>
    protected PciBar DefineExpansionRom(ReadOnlySpan<byte> image)
    {
        if (_bars[ExpansionRomIndex] is not null || _bus is not null)
        {
            throw new InvalidOperationException($"PCI device '{Name}': the expansion ROM is already defined or the device is attached.");
        }

        if (image.IsEmpty || image.Length > 16 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(image), $"PCI device '{Name}': an expansion ROM of {image.Length} bytes is not 1 byte to 16 MiB.");
        }

        ulong size = Math.Max((ulong)MinimumExpansionRomSizeInBytes, System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)image.Length));
        var bar = new PciBar(ExpansionRomIndex, PciBarKind.ExpansionRom, size, prefetchable: false, new ExpansionRomWindow(image.ToArray()), null, $"{Name} ROM");
        _bars[ExpansionRomIndex] = bar;
        SetDoubleWord(PciConfigurationRegisters.ExpansionRomBase, 0);
        SetWritableMask(PciConfigurationRegisters.ExpansionRomBase, 4, ((uint)~(size - 1) & RomAddressMask) | RomEnable);
        return bar;
    }

    /// <summary>Links a capability structure into the capabilities list and sets the status register's capabilities bit.</summary>
    /// <param name="register">Where the structure starts: dword-aligned, from 40h.</param>
    /// <param name="capabilityId">The capability ID (its first byte).</param>
    /// <param name="lengthInBytes">The structure's length (at least 2: ID and next pointer).</param>
    protected void AddCapability(int register, byte capabilityId, int lengthInBytes)
    {
        if (_bus is not null)
        {
            throw new InvalidOperationException($"PCI device '{Name}': capabilities must be added before the device is attached.");
        }

        if (register < PciConfigurationRegisters.DeviceSpecific || (register & 3) != 0 || lengthInBytes < 2 || register + lengthInBytes > ConfigurationSpaceSizeInBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(register), $"PCI device '{Name}': a capability of {lengthInBytes} bytes at {register:X2}h must be dword-aligned within 40h-FFh.");
        }

        _config[register] = capabilityId;
        _config[register + 1] = 0;
        if (_lastCapability == 0)
        {
            _config[PciConfigurationRegisters.CapabilitiesPointer] = (byte)register;
            SetWord(PciConfigurationRegisters.Status, (ushort)(ReadWord(PciConfigurationRegisters.Status) | PciConfigurationRegisters.StatusCapabilitiesList));
        }
        else
        {
            _config[_lastCapability + 1] = (byte)register;
        }

        _lastCapability = register;
    }

    /// <summary>
    /// Adds an MSI capability (PCI 3.0, 6.8.1) at <paramref name="register"/>: 10 bytes (14 when 64-bit), with
    /// <c>2^vectorCountLog2</c> vectors. While the guest has MSI enabled, <see cref="SetInterruptLevel"/> no longer
    /// drives INTx#; use <see cref="SignalMsi"/>.
    /// </summary>
    /// <param name="register">Where the capability starts (dword-aligned, from 40h).</param>
    /// <param name="is64Bit">Whether the function can generate 64-bit message addresses.</param>
    /// <param name="vectorCountLog2">0-5: the log2 of the number of vectors requested.</param>
    protected void AddMsiCapability(int register, bool is64Bit = true, int vectorCountLog2 = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(vectorCountLog2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vectorCountLog2, 5);
        if (_msiOffset >= 0)
        {
            throw new InvalidOperationException($"PCI device '{Name}' already has an MSI capability at {_msiOffset:X2}h.");
        }

        int length = is64Bit ? 14 : 10;
        AddCapability(register, PciConfigurationRegisters.CapabilityIdMsi, length);
        _msiOffset = register;
        ushort control = (ushort)((vectorCountLog2 << MsiMultipleMessageCapableShift) | (is64Bit ? MsiControl64Bit : 0));
        SetWord(register + MsiControlOffset, control);
        SetWritableMask(register + MsiControlOffset, 2, MsiControlEnable | (0x7 << MsiMultipleMessageEnableShift));
        SetWritableMask(register + MsiAddressOffset, 4, 0xFFFF_FFFC);
        if (is64Bit)
        {
            SetWritableMask(register + MsiAddressOffset + 4, 4, 0xFFFF_FFFF);
        }

        SetWritableMask(MsiDataOffset(), 2, 0xFFFF);
    }

    /// <summary>
    /// Requests (true) or withdraws (false) an interrupt on the function's INTx# pin. The pin follows the request
    /// unless the command register's interrupt disable bit is set or MSI is enabled; the status register's interrupt
    /// bit always shows the request. INTx# is level-triggered and shared: keep it asserted until the guest has
    /// serviced the cause.
    /// </summary>
    /// <param name="asserted">The requested level.</param>
    protected void SetInterruptLevel(bool asserted)
    {
        _interruptRequested = asserted;
        UpdateInterrupt();
    }

    /// <summary>
    /// Signals MSI vector <paramref name="vector"/>: the message the guest programmed (address, data with the vector in
    /// its low bits) goes to the bus's <see cref="PciBus.MsiTarget"/>. Needs MSI and bus mastering enabled.
    /// </summary>
    /// <param name="vector">The vector number among those the guest enabled (0 when only one).</param>
    /// <returns>False when MSI is disabled (the caller may fall back to INTx#) or bus mastering is off.</returns>
    protected bool SignalMsi(int vector = 0)
    {
        if (!IsMsiEnabled)
        {
            return false;
        }

        if (_bus is null || (CommandRegister & PciConfigurationRegisters.CommandBusMaster) == 0)
        {
            RefusedBusMasterCount++;
            return false;
        }

        ushort control = ReadWord(_msiOffset + MsiControlOffset);
        int enabledLog2 = (control >> MsiMultipleMessageEnableShift) & 7;
        ulong address = ReadDoubleWord(_msiOffset + MsiAddressOffset);
        if ((control & MsiControl64Bit) != 0)
        {
            address |= (ulong)ReadDoubleWord(_msiOffset + MsiAddressOffset + 4) << 32;
        }

        uint vectorMask = (1u << Math.Min(enabledLog2, 5)) - 1;
        uint data = (ReadWord(MsiDataOffset()) & ~vectorMask) | ((uint)vector & vectorMask);
        _bus.DeliverMsi(address, data, _address);
        return true;
    }

    /// <summary>Reads guest memory as a bus master (DMA). Nothing is read while the command register's bus master bit is clear.</summary>
    /// <param name="address">The first guest physical address.</param>
    /// <param name="destination">The buffer to fill.</param>
    /// <returns>False (and the buffer untouched) when bus mastering is off or the function is not attached.</returns>
    protected bool DmaRead(PhysicalAddress address, Span<byte> destination)
    {
        if (!CanMaster())
        {
            return false;
        }

        _bus!.Memory.Read(address, destination);
        return true;
    }

    /// <summary>Writes guest memory as a bus master (DMA). Nothing is written while the command register's bus master bit is clear.</summary>
    /// <param name="address">The first guest physical address.</param>
    /// <param name="source">The bytes to write.</param>
    /// <returns>False when bus mastering is off or the function is not attached.</returns>
    protected bool DmaWrite(PhysicalAddress address, ReadOnlySpan<byte> source)
    {
        if (!CanMaster())
        {
            return false;
        }

        _bus!.Memory.Write(address, source);
        return true;
    }

    /// <summary>
    /// Maps (or, with null, unmaps) a fixed-function port window that is not a BAR, such as the PIIX4's
    /// power-management block at the base in its PMBA register.
    /// </summary>
    /// <param name="name">The window's unique name.</param>
    /// <param name="firstPort">The first port, or null to unmap.</param>
    /// <param name="count">The number of ports.</param>
    /// <param name="handler">The handler.</param>
    /// <returns>True when mapped (or unmapped); false on a conflict (counted in <see cref="MappingConflictCount"/>) or when not attached.</returns>
    protected bool MapPortWindow(string name, ushort? firstPort, int count, IPortDevice handler)
    {
        if (_bus is null)
        {
            return firstPort is null;
        }

        if (_bus.Mapper.TryMapPorts(name, firstPort, count, handler, out string? conflict))
        {
            return true;
        }

        MappingConflictCount++;
        _bus.ReportConflict(Name, conflict);
        return false;
    }

    /// <summary>The configuration part of the function's state, for the device's own state record.</summary>
    /// <returns>A record that shares nothing with the device.</returns>
    protected PciConfigurationState SaveConfiguration() => new(PciConfigurationState.CurrentVersion, _config.ToArray(), _interruptRequested);

    /// <summary>
    /// Restores a record from <see cref="SaveConfiguration"/>: the configuration bytes (BAR windows move accordingly) and
    /// the interrupt request. Derived classes restore their own state around it and re-derive anything that depends on
    /// the configuration bytes.
    /// </summary>
    /// <param name="state">The record.</param>
    /// <exception cref="ArgumentException">When the version or length is wrong; nothing is changed then.</exception>
    protected void RestoreConfiguration(PciConfigurationState state)
    {
        ValidateConfiguration(state, Name);
        state.ConfigurationSpace.AsSpan().CopyTo(_config);
        _interruptRequested = state.InterruptRequested;
        UpdateWindows();
        UpdateInterrupt();
    }

    /// <summary>Checks a configuration record without applying it.</summary>
    /// <param name="state">The record.</param>
    /// <param name="deviceName">The device's name for the message.</param>
    /// <exception cref="ArgumentException">When the record is null, of another version, or not 256 bytes.</exception>
    protected static void ValidateConfiguration(PciConfigurationState state, string deviceName)
    {
        if (state is null)
        {
            throw new ArgumentException($"PCI device '{deviceName}': the configuration record is missing.", nameof(state));
        }

        if (state.Version != PciConfigurationState.CurrentVersion)
        {
            throw new ArgumentException($"PCI device '{deviceName}': PciConfigurationState.Version {state.Version} is not supported (expected {PciConfigurationState.CurrentVersion}).", nameof(state));
        }

        if (state.ConfigurationSpace is null || state.ConfigurationSpace.Length != ConfigurationSpaceSizeInBytes)
        {
            throw new ArgumentException($"PCI device '{deviceName}': PciConfigurationState.ConfigurationSpace must hold {ConfigurationSpaceSizeInBytes} bytes.", nameof(state));
        }
    }

    private static bool Overlaps(int first, int last, int register, int size) => first < register + size && last >= register;

    private static void SetMask(byte[] masks, int register, int sizeInBytes, uint mask)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(register);
        if (sizeInBytes is < 1 or > 4 || register + sizeInBytes > ConfigurationSpaceSizeInBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeInBytes), $"A mask of {sizeInBytes} bytes at {register:X2}h does not fit the configuration space.");
        }

        for (int i = 0; i < sizeInBytes; i++)
        {
            masks[register + i] = (byte)(mask >> (8 * i));
        }
    }

    private void CheckAccess(int register, int sizeInBytes)
    {
        if (sizeInBytes is not (1 or 2 or 4) || register < 0 || register + sizeInBytes > ConfigurationSpaceSizeInBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(register), $"PCI device '{Name}': a configuration access of {sizeInBytes} bytes at {register:X2}h is outside 00h-FFh or not 1, 2 or 4 bytes.");
        }
    }

    private void CheckBarSlot(int index, int slots)
    {
        if (_bus is not null)
        {
            throw new InvalidOperationException($"PCI device '{Name}': BARs must be defined before the device is attached.");
        }

        if (index < 0 || index + slots > BarCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"PCI device '{Name}': BAR{index} {(slots == 2 ? "(64-bit, two slots) " : string.Empty)}is outside BAR0-BAR5.");
        }

        for (int i = index; i < index + slots; i++)
        {
            if (_bars[i] is not null || (i > 0 && _bars[i - 1] is { Kind: PciBarKind.Memory64 }))
            {
                throw new InvalidOperationException($"PCI device '{Name}': BAR{i} is already defined.");
            }
        }
    }

    private byte ReadByteWithStatus(int offset)
    {
        byte b = _config[offset];
        if (offset == PciConfigurationRegisters.Status && _interruptRequested)
        {
            b |= (byte)PciConfigurationRegisters.StatusInterrupt;
        }

        return b;
    }

    private int MsiDataOffset() =>
        _msiOffset + MsiAddressOffset + ((ReadWord(_msiOffset + MsiControlOffset) & MsiControl64Bit) != 0 ? 8 : 4);

    private bool CanMaster()
    {
        if (_bus is not null && (CommandRegister & PciConfigurationRegisters.CommandBusMaster) != 0)
        {
            return true;
        }

        RefusedBusMasterCount++;
        return false;
    }

    private void SetWord(int register, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(register), value);

    private void SetDoubleWord(int register, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(register), value);

    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_powerOnConfig), nameof(_powerOnWritable))]
    private void CapturePowerOnImage()
    {
        _powerOnConfig ??= _config.ToArray();
        _powerOnWritable ??= _writable.ToArray();
    }

    private void UpdateInterrupt() => _intx?.SetLevel(EffectiveInterruptLevel);

    /// <summary>Where each window should be decoded now, per the command register and the BARs; moves those that changed.</summary>
    private void UpdateWindows()
    {
        ushort command = CommandRegister;
        for (int i = 0; i < _bars.Length; i++)
        {
            if (_bars[i] is not { } bar)
            {
                continue;
            }

            ulong? wanted = DecodedAddress(bar, command);
            if (wanted == _requested[i] && (wanted is null || bar.MappedAddress == wanted))
            {
                continue;
            }

            _requested[i] = wanted;
            if (_bus is null)
            {
                bar.MappedAddress = null;
                continue;
            }

            string? conflict;
            bool mapped = bar.IsMemory
                ? _bus.Mapper.TryMapMemory(bar.RegionName, wanted is { } m ? new PhysicalAddress(m) : null, out conflict)
                : _bus.Mapper.TryMapPorts(bar.RegionName, (ushort?)wanted, (int)bar.SizeInBytes, bar.PortHandler!, out conflict);
            bar.MappedAddress = mapped ? wanted : null;
            if (!mapped)
            {
                MappingConflictCount++;
                _bus.ReportConflict(Name, conflict);
            }
        }
    }

    /// <summary>
    /// The address a BAR decodes, or null. As QEMU decides (pci_bar_address): decoding off, address 0, or a window that
    /// ends at the top of its space (what the all-ones sizing write leaves) is not decoded.
    /// </summary>
    private ulong? DecodedAddress(PciBar bar, ushort command)
    {
        uint low = ReadDoubleWord(bar.RegisterOffset);
        ulong last;
        ulong address;
        switch (bar.Kind)
        {
            case PciBarKind.Io:
                if ((command & PciConfigurationRegisters.CommandIoSpace) == 0)
                {
                    return null;
                }

                address = low & BarIoAddressMask;
                last = address + bar.SizeInBytes - 1;
                return address == 0 || last >= LastIoPort ? null : address;
            case PciBarKind.Memory32:
                if ((command & PciConfigurationRegisters.CommandMemorySpace) == 0)
                {
                    return null;
                }

                address = low & BarMemoryAddressMask;
                last = address + bar.SizeInBytes - 1;
                return address == 0 || last >= LastAddress32 ? null : address;
            case PciBarKind.Memory64:
                if ((command & PciConfigurationRegisters.CommandMemorySpace) == 0)
                {
                    return null;
                }

                address = (low & BarMemoryAddressMask) | ((ulong)ReadDoubleWord(bar.RegisterOffset + 4) << 32);
                return address == 0 || bar.SizeInBytes - 1 >= ulong.MaxValue - address ? null : address;
            default:
                if ((command & PciConfigurationRegisters.CommandMemorySpace) == 0 || (low & RomEnable) == 0)
                {
                    return null;
                }

                address = low & RomAddressMask;
                last = address + bar.SizeInBytes - 1;
                return address == 0 || last >= LastAddress32 ? null : address;
        }
    }

    /// <summary>The expansion ROM's window: the image, then zeros up to the window size; writes are ignored.</summary>
    private sealed class ExpansionRomWindow(byte[] image) : IMmioDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public ulong Read(RegionOffset offset, int sizeInBytes) => offset.Value < (ulong)image.Length ? image[(int)offset.Value] : (byte)0;

        public void Write(RegionOffset offset, int sizeInBytes, ulong value)
        {
        }
    }
}
