using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The PC/AT's pair of Intel 8237A DMA controllers (datasheet 231466) with their page registers: the master at 00h-0Fh
/// serves the 8-bit channels 0-3, the slave at C0h-DFh (one register every second port) the 16-bit channels 4-7, word
/// addressed, channel 4 cascading the master. The page registers (81h-83h, 87h, 89h-8Bh, 8Fh) give address bits 23-16;
/// port 80h between them is the POST code port, not part of this device. Guest memory is reached through
/// <see cref="IGuestMemory"/>; devices reach their channel through <see cref="GetChannel"/>.
/// </summary>
/// <remarks>
/// <para>
/// Implemented: the address and count registers through the byte-pointer flip-flop, the mode register (single, block,
/// demand; auto-initialisation; address decrement; verify, write and read), the single, all and clear-mask commands and a
/// readable mask register (port 0Fh/DEh, as on the PIIX's 82C37 core), the status register (terminal counts, cleared by
/// reading, and requests), the request register, the command register's controller-disable bit, master clear and the
/// temporary register. A channel that reaches terminal count without auto-initialisation masks itself (datasheet,
/// "Terminal Count": EOP sets the mask bit unless auto-initialisation is on).
/// </para>
/// <para>
/// Not modelled: memory-to-memory transfers (command bit 0; no PC device uses them), DACK/DREQ polarity and priority
/// (transfers are instantaneous, so no two channels compete), and the master's dependence on channel 4's mask (QEMU
/// does not gate the master either, and guests booted without firmware never unmask channel 4).
/// </para>
/// </remarks>
/// <seealso href="https://wiki.osdev.org/ISA_DMA"/>
public sealed partial class Dma8237 : IPortMappedDevice, IStatefulDevice<Dma8237State>
{
    /// <summary>The master's first port.</summary>
    public const ushort MasterBasePort = 0x00;

    /// <summary>The slave's first port.</summary>
    public const ushort SlaveBasePort = 0xC0;

    /// <summary>The first page register port (81h: channel 2); 80h before it is the POST code port.</summary>
    public const ushort FirstPagePort = 0x81;

    /// <summary>The number of page register ports, 81h-8Fh.</summary>
    public const int PagePortCount = 15;

    /// <summary>The number of channels of the pair.</summary>
    public const int ChannelCount = 8;

    private const int MasterPortCount = 16;
    private const int SlavePortCount = 32;
    private const int MaxLoggedMisuses = 32;
    private const byte OpenBus = 0xFF;

    // Register offsets (datasheet Table 2, "Internal registers"), in register units (a byte on the master, a word on the slave).
    private const int RegisterStatusCommand = 0x8;
    private const int RegisterRequest = 0x9;
    private const int RegisterSingleMask = 0xA;
    private const int RegisterMode = 0xB;
    private const int RegisterClearFlipFlop = 0xC;
    private const int RegisterTemporaryMasterClear = 0xD;
    private const int RegisterClearMask = 0xE;
    private const int RegisterAllMask = 0xF;

    /// <summary>Command register bit 2: controller disable.</summary>
    private const byte CommandDisable = 0x04;

    /// <summary>Request and single-mask commands: bit 2 sets (1) or clears (0) the bit of the channel in bits 1-0.</summary>
    private const byte SetBit = 0x04;

    // Mode register bits (datasheet "Mode Register").
    private const byte ModeAutoInit = 0x10;
    private const byte ModeDecrement = 0x20;
    private const int ModeTransferShift = 2;
    private const int ModeSelectShift = 6;

    /// <summary>Which page port (minus 81h) holds each channel's page: 87h, 83h, 81h, 82h, 8Fh, 8Bh, 89h, 8Ah.</summary>
    private static readonly int[] s_pageIndex = [0x87 - FirstPagePort, 0x83 - FirstPagePort, 0x81 - FirstPagePort, 0x82 - FirstPagePort, 0x8F - FirstPagePort, 0x8B - FirstPagePort, 0x89 - FirstPagePort, 0x8A - FirstPagePort];

    private readonly IGuestMemory _memory;
    private readonly ILogger _logger;
    private readonly Controller[] _controllers;
    private readonly Channel[] _channels = new Channel[ChannelCount];
    private readonly byte[] _pages = new byte[PagePortCount];

    /// <summary>Creates the pair at its power-on state (every channel masked).</summary>
    /// <param name="memory">Guest physical memory, which transfers read and write.</param>
    /// <param name="logger">A logger for guest misuse (debug level, the first few); null for none.</param>
    public Dma8237(IGuestMemory memory, ILogger<Dma8237>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        _memory = memory;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        for (int i = 0; i < ChannelCount; i++)
        {
            _channels[i] = new Channel(this, i);
        }

        _controllers = [new Controller(this, 0), new Controller(this, 1)];
        PortBindings =
        [
            new PortBinding("DMA master", MasterBasePort, MasterPortCount, new ControllerPorts(_controllers[0], registerShift: 0)),
            new PortBinding("DMA slave", SlaveBasePort, SlavePortCount, new ControllerPorts(_controllers[1], registerShift: 1)),
            new PortBinding("DMA page", FirstPagePort, PagePortCount, new PagePorts(this)),
        ];
        Reset();
    }

    /// <inheritdoc/>
    public string Name => "DMA";

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings { get; }

    /// <summary>How many times the guest misused the controller (reads of write-only registers, the illegal transfer type in a transfer).</summary>
    public long GuestMisuseCount { get; private set; }

    /// <summary>The channel a device uses.</summary>
    /// <param name="number">0 to 7 (4 is the cascade and carries no device).</param>
    /// <returns>The channel.</returns>
    public IDmaChannel GetChannel(int number)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(number);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(number, ChannelCount);
        return _channels[number];
    }

    /// <summary>Power-on: a master clear of both controllers (every channel masked), page registers zero.</summary>
    public void Reset()
    {
        _controllers[0].MasterClear();
        _controllers[1].MasterClear();
        foreach (Channel channel in _channels)
        {
            channel.BaseAddress = 0;
            channel.BaseCount = 0;
            channel.CurrentAddress = 0;
            channel.CurrentCount = 0;
            channel.Mode = 0;
        }

        Array.Clear(_pages);
    }

    /// <inheritdoc/>
    public Dma8237State SaveState() => new(Dma8237State.CurrentVersion, _controllers[0].Save(), _controllers[1].Save(), (byte[])_pages.Clone());

    /// <inheritdoc/>
    public void RestoreState(Dma8237State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != Dma8237State.CurrentVersion)
        {
            throw new ArgumentException($"Dma8237State.Version {state.Version} is not supported (expected {Dma8237State.CurrentVersion}).", nameof(state));
        }

        if (state.Master is null || state.Slave is null || state.PageRegisters is null || state.PageRegisters.Length != PagePortCount)
        {
            throw new ArgumentException($"Dma8237State needs Master, Slave and {PagePortCount} PageRegisters.", nameof(state));
        }

        Controller.Validate(state.Master, nameof(state.Master));
        Controller.Validate(state.Slave, nameof(state.Slave));
        _controllers[0].Load(state.Master);
        _controllers[1].Load(state.Slave);
        state.PageRegisters.CopyTo(_pages, 0);
    }

    private void Misuse(string what, int value)
    {
        GuestMisuseCount++;
        if (GuestMisuseCount <= MaxLoggedMisuses && _logger.IsEnabled(LogLevel.Debug))
        {
            LogMisuse(_logger, what, value);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "DMA: guest misuse: {What} ({Value:X2}h)")]
    private static partial void LogMisuse(ILogger logger, string what, int value);

    /// <summary>One 8237: its command, status, request, mask and flip-flop, over four of the pair's channels.</summary>
    private sealed class Controller(Dma8237 owner, int index)
    {
        public byte Command;
        public byte TerminalCounts;
        public byte SoftwareRequests;
        public byte Mask;
        public bool FlipFlopHigh;
        public byte Temporary;

        public Channel this[int channel] => owner._channels[(index * 4) + channel];

        public bool Enabled => (Command & CommandDisable) == 0;

        public static void Validate(Dma8237ControllerState s, string name)
        {
            if (s.Channel0 is null || s.Channel1 is null || s.Channel2 is null || s.Channel3 is null || s.TerminalCounts > 0xF || s.SoftwareRequests > 0xF || s.Mask > 0xF)
            {
                throw new ArgumentException($"Dma8237State.{name} has a missing channel or a field out of range: {s}.", name);
            }
        }

        public void MasterClear()
        {
            // Datasheet "Master Clear": clears the command, status, request and temporary registers and the flip-flop,
            // and sets the mask register.
            Command = 0;
            TerminalCounts = 0;
            SoftwareRequests = 0;
            Temporary = 0;
            FlipFlopHigh = false;
            Mask = 0xF;
        }

        public Dma8237ControllerState Save() => new(Command, TerminalCounts, SoftwareRequests, Mask, FlipFlopHigh, Temporary, this[0].Save(), this[1].Save(), this[2].Save(), this[3].Save());

        public void Load(Dma8237ControllerState s)
        {
            Command = s.Command;
            TerminalCounts = s.TerminalCounts;
            SoftwareRequests = s.SoftwareRequests;
            Mask = s.Mask;
            FlipFlopHigh = s.FlipFlopHigh;
            Temporary = s.Temporary;
            this[0].Load(s.Channel0);
            this[1].Load(s.Channel1);
            this[2].Load(s.Channel2);
            this[3].Load(s.Channel3);
        }

        public byte Read(int register)
        {
            if (register < RegisterStatusCommand)
            {
                Channel c = this[register >> 1];
                ushort value = (register & 1) == 0 ? c.CurrentAddress : c.CurrentCount;
                return NextByte(value);
            }

            switch (register)
            {
                case RegisterStatusCommand:
                {
                    // Status: bits 3-0 terminal count (cleared by this read), bits 7-4 requests pending.
                    int requests = SoftwareRequests;
                    for (int i = 0; i < 4; i++)
                    {
                        if (this[i].RequestLine)
                        {
                            requests |= 1 << i;
                        }
                    }

                    byte status = (byte)(TerminalCounts | (requests << 4));
                    TerminalCounts = 0;
                    return status;
                }

                case RegisterTemporaryMasterClear:
                    return Temporary;
                case RegisterAllMask:
                    return (byte)(0xF0 | Mask);
                default:
                    owner.Misuse("read of a write-only register", register);
                    return OpenBus;
            }
        }

        public void Write(int register, byte value)
        {
            if (register < RegisterStatusCommand)
            {
                Channel c = this[register >> 1];
                bool high = FlipFlopHigh;
                FlipFlopHigh = !FlipFlopHigh;

                // Writing an address or count writes the base and the current register together (datasheet "Base and
                // Current Address Registers").
                if ((register & 1) == 0)
                {
                    c.BaseAddress = Merge(c.BaseAddress, value, high);
                    c.CurrentAddress = c.BaseAddress;
                }
                else
                {
                    c.BaseCount = Merge(c.BaseCount, value, high);
                    c.CurrentCount = c.BaseCount;
                }

                return;
            }

            int channel = value & 3;
            switch (register)
            {
                case RegisterStatusCommand:
                    Command = value;
                    ServiceAll();
                    break;
                case RegisterRequest:
                    SoftwareRequests = (byte)((value & SetBit) != 0 ? SoftwareRequests | (1 << channel) : SoftwareRequests & ~(1 << channel));
                    break;
                case RegisterSingleMask:
                    SetMask((value & SetBit) != 0 ? Mask | (1 << channel) : Mask & ~(1 << channel));
                    break;
                case RegisterMode:
                    this[channel].Mode = (byte)(value & 0xFC);
                    break;
                case RegisterClearFlipFlop:
                    FlipFlopHigh = false;
                    break;
                case RegisterTemporaryMasterClear:
                    MasterClear();
                    break;
                case RegisterClearMask:
                    SetMask(0);
                    break;
                default:
                    SetMask(value & 0xF);
                    break;
            }
        }

        /// <summary>Terminal count on a channel: the status bit, and the mask bit unless the channel auto-initialises.</summary>
        public void ReachTerminalCount(int channel, bool autoInit)
        {
            TerminalCounts |= (byte)(1 << channel);
            SoftwareRequests &= (byte)~(1 << channel);
            if (!autoInit)
            {
                Mask |= (byte)(1 << channel);
            }
        }

        public bool IsReady(int channel) => Enabled && (Mask & (1 << channel)) == 0;

        private static ushort Merge(ushort word, byte value, bool high) =>
            high ? (ushort)((word & 0x00FF) | (value << 8)) : (ushort)((word & 0xFF00) | value);

        private byte NextByte(ushort value)
        {
            bool high = FlipFlopHigh;
            FlipFlopHigh = !FlipFlopHigh;
            return high ? (byte)(value >> 8) : (byte)value;
        }

        private void SetMask(int mask)
        {
            Mask = (byte)mask;
            ServiceAll();
        }

        private void ServiceAll()
        {
            for (int i = 0; i < 4; i++)
            {
                this[i].TryService();
            }
        }
    }

    /// <summary>One channel: its registers and the device-facing transfer routines.</summary>
    private sealed class Channel(Dma8237 owner, int number) : IDmaChannel
    {
        public ushort BaseAddress;
        public ushort BaseCount;
        public ushort CurrentAddress;
        public ushort CurrentCount;
        public byte Mode;
        private Action? _service;
        private bool _servicing;

        public int Number => number;

        public bool IsSixteenBit => number >= 4;

        public bool IsReady => Controller.IsReady(number & 3);

        public DmaTransferType TransferType => (DmaTransferType)((Mode >> ModeTransferShift) & 3);

        public bool TerminalCountReached { get; private set; }

        public bool RequestLine { get; private set; }

        private Controller Controller => owner._controllers[number >> 2];

        private int UnitSize => IsSixteenBit ? 2 : 1;

        public void Attach(Action? service)
        {
            _service = service;
            TryService();
        }

        public void SetRequest(bool asserted)
        {
            RequestLine = asserted;
            TryService();
        }

        public void TryService()
        {
            // The service routine may unmask or mask channels and drop DREQ; a nested call for this channel would
            // re-enter it, so it runs once at a time and the loop repeats while the request stands.
            if (_servicing || _service is null)
            {
                return;
            }

            _servicing = true;
            try
            {
                int guard = 0;
                while (RequestLine && IsReady && guard++ < 16)
                {
                    _service();
                }
            }
            finally
            {
                _servicing = false;
            }
        }

        public int WriteToMemory(ReadOnlySpan<byte> data)
        {
            CheckTransferType();
            return Transfer(data.Length, data, Span<byte>.Empty, toMemory: true);
        }

        public int ReadFromMemory(Span<byte> destination)
        {
            CheckTransferType();
            return Transfer(destination.Length, ReadOnlySpan<byte>.Empty, destination, toMemory: false);
        }

        public Dma8237ChannelState Save() => new(BaseAddress, BaseCount, CurrentAddress, CurrentCount, Mode, RequestLine);

        public void Load(Dma8237ChannelState s)
        {
            BaseAddress = s.BaseAddress;
            BaseCount = s.BaseCount;
            CurrentAddress = s.CurrentAddress;
            CurrentCount = s.CurrentCount;
            Mode = (byte)(s.Mode & 0xFC);
            RequestLine = s.RequestLine;
        }

        /// <summary>
        /// Moves up to <paramref name="lengthInBytes"/> bytes in runs that stay within one 64 KiB (128 KiB for words)
        /// block: the 8237's address counter has 16 bits and the page register does not carry, so an address that
        /// passes FFFFh wraps within the page (the ISA "64 KiB boundary" that drivers avoid).
        /// </summary>
        private int Transfer(int lengthInBytes, ReadOnlySpan<byte> source, Span<byte> destination, bool toMemory)
        {
            TerminalCountReached = false;
            if (!IsReady)
            {
                return 0;
            }

            int unit = UnitSize;
            bool decrement = (Mode & ModeDecrement) != 0;
            bool moveData = toMemory ? TransferType == DmaTransferType.Write : TransferType == DmaTransferType.Read;
            int done = 0;
            while (lengthInBytes - done >= unit)
            {
                int units = Math.Min(CurrentCount + 1, (lengthInBytes - done) / unit);
                if (decrement)
                {
                    units = 1;
                }
                else
                {
                    units = Math.Min(units, 0x10000 - CurrentAddress);
                }

                int bytes = units * unit;
                if (moveData)
                {
                    var address = new PhysicalAddress(PhysicalAddressOf(CurrentAddress));
                    if (toMemory)
                    {
                        owner._memory.Write(address, source.Slice(done, bytes));
                    }
                    else
                    {
                        owner._memory.Read(address, destination.Slice(done, bytes));
                    }
                }
                else if (!toMemory)
                {
                    destination.Slice(done, bytes).Clear();
                }

                CurrentAddress = (ushort)(decrement ? CurrentAddress - units : CurrentAddress + units);
                bool terminal = CurrentCount < units;
                CurrentCount = (ushort)(CurrentCount - units);
                done += bytes;
                if (terminal)
                {
                    // The count passed zero to FFFFh: terminal count. Auto-initialisation reloads the current
                    // registers from the base ones (datasheet "Autoinitialize").
                    bool autoInit = (Mode & ModeAutoInit) != 0;
                    Controller.ReachTerminalCount(number & 3, autoInit);
                    TerminalCountReached = true;
                    if (autoInit)
                    {
                        CurrentAddress = BaseAddress;
                        CurrentCount = BaseCount;
                    }

                    break;
                }
            }

            return done;
        }

        private void CheckTransferType()
        {
            if (TransferType == DmaTransferType.Illegal)
            {
                owner.Misuse("transfer on a channel programmed with transfer type 11b", number);
            }
        }

        private uint PhysicalAddressOf(ushort address)
        {
            byte page = owner._pages[s_pageIndex[number]];

            // 16-bit channels shift the address left by one and take A23-A17 from page bits 7-1 (AT technical reference).
            return IsSixteenBit ? (uint)(((page & 0xFE) << 16) | (address << 1)) : (uint)((page << 16) | address);
        }
    }

    /// <summary>The ports of one 8237: the master's registers are consecutive, the slave's every second port.</summary>
    private sealed class ControllerPorts(Controller controller, int registerShift) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes)
        {
            if ((offset & ((1 << registerShift) - 1)) != 0)
            {
                return OpenBus; // the odd ports between the slave's registers are not decoded
            }

            return controller.Read(offset >> registerShift);
        }

        public void Write(ushort offset, int sizeInBytes, uint value)
        {
            if ((offset & ((1 << registerShift) - 1)) == 0)
            {
                controller.Write(offset >> registerShift, (byte)value);
            }
        }
    }

    /// <summary>The page registers 81h-8Fh (the spare ones are plain storage, as on the 74LS612 of the AT).</summary>
    private sealed class PagePorts(Dma8237 owner) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes) => owner._pages[offset];

        public void Write(ushort offset, int sizeInBytes, uint value) => owner._pages[offset] = (byte)value;
    }
}
