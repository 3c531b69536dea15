using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// PCI bus 0 of a PC and its host bridge's configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2):
/// CONFIG_ADDRESS at CF8h (dword accesses only) selects bus, device, function and register when bit 31 is set, and
/// CONFIG_DATA at CFCh-CFFh reads or writes that register with byte, word or dword accesses at any of its four ports.
/// A function that is absent (or on another bus: there is no PCI-to-PCI bridge) reads as all ones and ignores writes.
/// </summary>
/// <remarks>
/// Byte and word accesses to CF8h-CFBh are not configuration cycles (the specification passes them on as ordinary
/// I/O): the PIIX's reset control register at CF9h lives there, so the bus forwards byte accesses at CF9h to
/// <see cref="ResetControlPort"/>; the rest read as all ones.
/// </remarks>
public sealed partial class PciBus : IPortMappedDevice, IStatefulDevice<PciBusState>
{
    /// <summary>CONFIG_ADDRESS.</summary>
    public const ushort ConfigAddressPort = 0xCF8;

    /// <summary>CONFIG_DATA (four ports).</summary>
    public const ushort ConfigDataPort = 0xCFC;

    /// <summary>CONFIG_ADDRESS bit 31: configuration cycles enabled.</summary>
    public const uint ConfigAddressEnable = 0x8000_0000;

    // CONFIG_ADDRESS fields (3.2.2.3.2, Figure 3-2): bus 23:16, device 15:11, function 10:8, register 7:2.
    // Bits 30:24 and 1:0 are reserved and read 0 on the 440FX (CONFADD, 290549 3.1.1).
    private const uint ConfigAddressWritable = 0x80FF_FFFC;
    private const int BusShift = 16;
    private const int DeviceShift = 11;
    private const int FunctionShift = 8;
    private const uint RegisterMask = 0xFC;
    private const int ResetControlOffset = 1;
    private const int HeaderTypeMultiFunction = 0x80;
    private const int MaxLoggedConflicts = 16;

    private readonly PciDevice?[] _functions = new PciDevice?[PciFunctionAddress.DevicesPerBus * PciFunctionAddress.FunctionsPerDevice];
    private readonly ILogger _logger;
    private uint _configAddress;
    private int _loggedConflicts;

    /// <summary>Creates bus 0.</summary>
    /// <param name="mapper">Places the functions' BAR windows in memory and port space.</param>
    /// <param name="memory">Guest memory, which the functions reach by DMA.</param>
    /// <param name="interruptRouter">Connects INTx# pins to the board's interrupt wiring, or null (pins go nowhere).</param>
    /// <param name="logger">A logger for window conflicts (debug level, the first few); null for none.</param>
    public PciBus(IPciWindowMapper mapper, IGuestMemory memory, IPciInterruptRouter? interruptRouter = null, ILogger<PciBus>? logger = null)
    {
        Mapper = mapper ?? throw new ArgumentNullException(nameof(mapper));
        Memory = memory ?? throw new ArgumentNullException(nameof(memory));
        InterruptRouter = interruptRouter;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        PortBindings =
        [
            new PortBinding("PCI CONFIG_ADDRESS", ConfigAddressPort, 4, new AddressPorts(this)),
            new PortBinding("PCI CONFIG_DATA", ConfigDataPort, 4, new DataPorts(this)),
        ];
    }

    /// <inheritdoc/>
    public string Name => "PCI bus 0";

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings { get; }

    /// <summary>The window mapper given at construction.</summary>
    public IPciWindowMapper Mapper { get; }

    /// <summary>Guest memory for DMA.</summary>
    public IGuestMemory Memory { get; }

    /// <summary>The INTx# router given at construction, or null.</summary>
    public IPciInterruptRouter? InterruptRouter { get; }

    /// <summary>Where MSI messages go (the local APICs), or null: messages are then dropped and counted.</summary>
    public IMsiTarget? MsiTarget { get; set; }

    /// <summary>The reset control register that shares CF8h-CFBh (byte accesses at CF9h), or null.</summary>
    public IPortDevice? ResetControlPort { get; set; }

    /// <summary>Sees every configuration access through CF8h/CFCh (a trace), or null.</summary>
    public IPciConfigurationObserver? Observer { get; set; }

    /// <summary>How many MSI messages found no <see cref="MsiTarget"/>.</summary>
    public long DroppedMsiCount { get; private set; }

    /// <summary>The CONFIG_ADDRESS register.</summary>
    public uint ConfigAddress => _configAddress;

    /// <summary>The attached functions, by address.</summary>
    public IReadOnlyList<PciDevice> Devices => [.. _functions.OfType<PciDevice>()];

    /// <summary>Attaches a function at <c>00:device.function</c>; its INTx# line is created through the router now.</summary>
    /// <param name="device">The function.</param>
    /// <param name="deviceNumber">0-31.</param>
    /// <param name="function">0-7.</param>
    /// <exception cref="ArgumentOutOfRangeException">When the address is out of range.</exception>
    /// <exception cref="InvalidOperationException">When the slot is taken or the device is attached elsewhere.</exception>
    public void Attach(PciDevice device, int deviceNumber, int function = 0)
    {
        ArgumentNullException.ThrowIfNull(device);
        var address = new PciFunctionAddress(0, deviceNumber, function);
        if (!address.IsValid)
        {
            throw new ArgumentOutOfRangeException(nameof(deviceNumber), $"PCI device '{device.Name}': device {deviceNumber} function {function} is outside 0-31 / 0-7.");
        }

        int slot = Index(deviceNumber, function);
        if (_functions[slot] is { } other)
        {
            throw new InvalidOperationException($"PCI device '{device.Name}': {address} is already taken by '{other.Name}'.");
        }

        device.AttachTo(this, address);
        _functions[slot] = device;
    }

    /// <summary>The function at <c>00:device.function</c>, or null.</summary>
    /// <param name="deviceNumber">0-31.</param>
    /// <param name="function">0-7.</param>
    /// <returns>The function.</returns>
    public PciDevice? Find(int deviceNumber, int function = 0) =>
        deviceNumber is >= 0 and < PciFunctionAddress.DevicesPerBus && function is >= 0 and < PciFunctionAddress.FunctionsPerDevice
            ? _functions[Index(deviceNumber, function)]
            : null;

    /// <summary>
    /// A configuration read as the host bridge performs it: all ones when no function is there. Bit 7 of the header
    /// type of function 0 is set when the device has other functions.
    /// </summary>
    /// <param name="address">The function.</param>
    /// <param name="register">The byte offset.</param>
    /// <param name="sizeInBytes">1, 2 or 4, within one dword.</param>
    /// <returns>The value.</returns>
    public uint ReadConfiguration(PciFunctionAddress address, int register, int sizeInBytes)
    {
        if (Lookup(address) is not { } device)
        {
            return sizeInBytes == 4 ? uint.MaxValue : (1u << (8 * sizeInBytes)) - 1;
        }

        uint value = device.ReadConfiguration(register, sizeInBytes);
        int headerByte = PciConfigurationRegisters.HeaderType - register;
        if (address.Function == 0 && headerByte >= 0 && headerByte < sizeInBytes && HasOtherFunctions(address.Device))
        {
            value |= (uint)HeaderTypeMultiFunction << (8 * headerByte);
        }

        return value;
    }

    /// <summary>A configuration write as the host bridge performs it: ignored when no function is there.</summary>
    /// <param name="address">The function.</param>
    /// <param name="register">The byte offset.</param>
    /// <param name="sizeInBytes">1, 2 or 4, within one dword.</param>
    /// <param name="value">The value.</param>
    public void WriteConfiguration(PciFunctionAddress address, int register, int sizeInBytes, uint value) =>
        Lookup(address)?.WriteConfiguration(register, sizeInBytes, value);

    /// <summary>Clears CONFIG_ADDRESS (the functions are reset as devices of their own).</summary>
    public void Reset() => _configAddress = 0;

    /// <inheritdoc/>
    public PciBusState SaveState() => new(PciBusState.CurrentVersion, _configAddress);

    /// <inheritdoc/>
    public void RestoreState(PciBusState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != PciBusState.CurrentVersion)
        {
            throw new ArgumentException($"PciBusState.Version {state.Version} is not supported (expected {PciBusState.CurrentVersion}).", nameof(state));
        }

        if ((state.ConfigAddress & ~ConfigAddressWritable) != 0)
        {
            throw new ArgumentException($"PciBusState.ConfigAddress {state.ConfigAddress:X8}h sets reserved bits (30:24, 1:0).", nameof(state));
        }

        _configAddress = state.ConfigAddress;
    }

    internal void DeliverMsi(ulong address, uint data, PciFunctionAddress source)
    {
        if (MsiTarget is { } target)
        {
            target.DeliverMessage(address, data, source);
        }
        else
        {
            DroppedMsiCount++;
        }
    }

    internal void ReportConflict(string device, string? conflict)
    {
        if (_loggedConflicts < MaxLoggedConflicts && _logger.IsEnabled(LogLevel.Debug))
        {
            _loggedConflicts++;
            LogConflict(_logger, device, conflict ?? "unknown conflict");
        }
    }

    private static int Index(int device, int function) => (device * PciFunctionAddress.FunctionsPerDevice) + function;

    private PciDevice? Lookup(PciFunctionAddress address) =>
        address.Bus == 0 && address.IsValid ? _functions[Index(address.Device, address.Function)] : null;

    private bool HasOtherFunctions(int device)
    {
        for (int f = 1; f < PciFunctionAddress.FunctionsPerDevice; f++)
        {
            if (_functions[Index(device, f)] is not null)
            {
                return true;
            }
        }

        return false;
    }

    private PciFunctionAddress Selected() => new(
        (int)((_configAddress >> BusShift) & 0xFF),
        (int)((_configAddress >> DeviceShift) & 0x1F),
        (int)((_configAddress >> FunctionShift) & 0x7));

    private uint ReadData(int offset, int sizeInBytes)
    {
        if ((_configAddress & ConfigAddressEnable) == 0)
        {
            // No configuration cycle: an ordinary I/O read of CFCh that nothing claims.
            return sizeInBytes == 4 ? uint.MaxValue : (1u << (8 * sizeInBytes)) - 1;
        }

        PciFunctionAddress address = Selected();
        int register = (int)(_configAddress & RegisterMask) + offset;
        uint value = ReadConfiguration(address, register, sizeInBytes);
        Observer?.OnConfigurationRead(address, register, sizeInBytes, value, Lookup(address) is not null);
        return value;
    }

    private void WriteData(int offset, int sizeInBytes, uint value)
    {
        if ((_configAddress & ConfigAddressEnable) == 0)
        {
            return;
        }

        PciFunctionAddress address = Selected();
        int register = (int)(_configAddress & RegisterMask) + offset;
        Observer?.OnConfigurationWrite(address, register, sizeInBytes, value, Lookup(address) is not null);
        WriteConfiguration(address, register, sizeInBytes, value);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "PCI {Device}: a window was left unmapped: {Conflict}")]
    private static partial void LogConflict(ILogger logger, string device, string conflict);

    /// <summary>CF8h-CFBh: CONFIG_ADDRESS for dword accesses at CF8h; byte accesses at CF9h go to the reset control register.</summary>
    private sealed class AddressPorts(PciBus bus) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.UpToDoubleWord;

        public uint Read(ushort offset, int sizeInBytes)
        {
            if (sizeInBytes == 4 && offset == 0)
            {
                return bus._configAddress;
            }

            uint value = 0;
            for (int i = sizeInBytes - 1; i >= 0; i--)
            {
                value = (value << 8) | ReadOther(offset + i);
            }

            return value;
        }

        public void Write(ushort offset, int sizeInBytes, uint value)
        {
            if (sizeInBytes == 4 && offset == 0)
            {
                bus._configAddress = value & ConfigAddressWritable;
                return;
            }

            for (int i = 0; i < sizeInBytes; i++)
            {
                if (offset + i == ResetControlOffset)
                {
                    bus.ResetControlPort?.Write(0, 1, (value >> (8 * i)) & 0xFF);
                }
            }
        }

        private uint ReadOther(int offset) =>
            offset == ResetControlOffset && bus.ResetControlPort is { } reset ? reset.Read(0, 1) & 0xFF : 0xFF;
    }

    /// <summary>CFCh-CFFh: CONFIG_DATA, the selected dword's bytes at their offsets.</summary>
    private sealed class DataPorts(PciBus bus) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.UpToDoubleWord;

        public uint Read(ushort offset, int sizeInBytes) => bus.ReadData(offset, sizeInBytes);

        public void Write(ushort offset, int sizeInBytes, uint value) => bus.WriteData(offset, sizeInBytes, value);
    }
}
