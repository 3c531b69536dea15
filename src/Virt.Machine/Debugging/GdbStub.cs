using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Virt.Cpu;
using Virt.Memory;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Machine.Debugging;

/// <summary>
/// A GDB remote stub for one machine (GDB manual, Appendix E "Remote Serial Protocol"): registers, memory through the
/// guest's page tables, software and hardware instruction breakpoints (host breakpoints in the CPU, never INT3 written into
/// guest memory), write/read/access watchpoints (host memory watches), single-step, continue, Ctrl-C, detach and kill, over
/// TCP.
/// </summary>
/// <remarks>
/// <para>
/// Threading: the stub owns the machine's run loop on the thread that calls <see cref="Run"/>, so the machine stays
/// single-threaded. While gdb has the guest stopped, that thread waits for packets; while the guest runs, it runs the
/// machine in slices of <see cref="SliceInstructions"/> instructions and polls the socket between them for Ctrl-C (0x03)
/// and for a new connection. No locks, no second thread touching machine state.
/// </para>
/// <para>
/// A connection stops the guest, as QEMU does. Closing the socket or <c>D</c> detaches (breakpoints are removed and the
/// guest runs on); <c>k</c> ends <see cref="Run"/>. Malformed packets get an error reply or a nack, never an exception.
/// </para>
/// </remarks>
public sealed partial class GdbStub : IDisposable
{
    /// <summary>The port QEMU's <c>-s</c> uses.</summary>
    public const int DefaultPort = 1234;

    /// <summary>How many instructions run between two looks at the socket while the guest runs.</summary>
    public const long SliceInstructions = 50_000;

    private const int SignalInterrupt = 2;
    private const int SignalTrap = 5;
    private const int MaxMemoryTransferInBytes = (GdbConnection.MaxPacketSizeInBytes / 2) - 16;
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly string[] s_legacyRegisterNames = ["EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"];

    private readonly Machine _machine;
    private readonly TcpListener _listener;
    private readonly HashSet<uint> _softwareBreakpoints = [];
    private readonly HashSet<uint> _hardwareBreakpoints = [];
    private readonly Dictionary<(char Type, ulong Address, ulong Length), IDisposable> _watchpoints = [];
    private GdbConnection? _connection;

    // The stop-reply reason ("watch:ADDR;" etc.) of the first watchpoint the last instruction hit, until reported.
    private string? _watchHit;
    private bool _disposed;

    private GdbStub(Machine machine, TcpListener listener)
    {
        _machine = machine;
        _listener = listener;
    }

    private enum Resume
    {
        None,
        Continue,
        Step,
        Detach,
        Kill,
    }

    /// <summary>The address and port the stub listens on (the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Whether a debugger is connected.</summary>
    public bool IsAttached => _connection is { IsClosed: false };

    /// <summary>Packets rejected so far (bad checksum or too long); for diagnostics.</summary>
    public int RejectedPackets { get; private set; }

    /// <summary>Starts listening for a debugger on <paramref name="endpoint"/> (port 0 picks a free port; see <see cref="LocalEndPoint"/>).</summary>
    /// <param name="machine">The machine to debug; the stub runs it from <see cref="Run"/>.</param>
    /// <param name="endpoint">Where to listen, normally the loopback address.</param>
    /// <returns>The stub.</returns>
    /// <exception cref="InvalidOperationException">When the endpoint cannot be bound (the message names it).</exception>
    public static GdbStub Listen(Machine machine, IPEndPoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(endpoint);
        var listener = new TcpListener(endpoint);
        try
        {
            listener.Start(1);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new InvalidOperationException($"gdb stub: cannot listen on {endpoint}: {e.Message}", e);
        }

        return new GdbStub(machine, listener);
    }

    /// <summary>
    /// Runs the machine under the stub until the guest stops for good, a limit is reached, gdb kills it or the token is
    /// cancelled. A debugger may attach at any time (the guest then stops until gdb resumes it).
    /// </summary>
    /// <param name="maxInstructions">Instruction budget for the guest's running time, or null.</param>
    /// <param name="timeout">Wall-clock limit on the guest's running time (time stopped in the debugger does not count), or null.</param>
    /// <param name="waitForAttach">Wait for a debugger before the first instruction (QEMU's <c>-S</c>).</param>
    /// <param name="cancellationToken">Stops the run with <see cref="MachineStopKind.Cancelled"/>.</param>
    /// <returns>Why the run ended.</returns>
    public MachineStopReason Run(long? maxInstructions = null, TimeSpan? timeout = null, bool waitForAttach = false, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (maxInstructions is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxInstructions), maxInstructions, "The instruction budget must be positive.");
        }

        long budgetLeft = maxInstructions ?? long.MaxValue;
        var running = new Stopwatch();
        bool stopped = false;
        while (true)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return End(new MachineStopReason(MachineStopKind.Cancelled, "the cancellation token was cancelled"));
            }

            if (_connection is { IsClosed: true })
            {
                DropConnection();
                stopped = false;
            }

            if (_connection is null)
            {
                if (waitForAttach && !_listener.Pending())
                {
                    Thread.Sleep(s_pollInterval);
                    continue;
                }

                if (_listener.Pending())
                {
                    Accept();
                    waitForAttach = false;
                    stopped = true;
                }
            }

            if (stopped && _connection is not null)
            {
                switch (ServeOne())
                {
                    case Resume.Continue:
                        stopped = false;
                        break;
                    case Resume.Step:
                        if (StepOne() is { } ended)
                        {
                            return End(ended);
                        }

                        break;
                    case Resume.Detach:
                        DropConnection();
                        stopped = false;
                        break;
                    case Resume.Kill:
                        DropConnection();
                        return new MachineStopReason(MachineStopKind.Cancelled, "the debugger killed the guest");
                    default:
                        break;
                }

                continue;
            }

            if (budgetLeft <= 0)
            {
                return End(new MachineStopReason(MachineStopKind.BudgetExhausted, $"the budget of {maxInstructions} instructions was used"));
            }

            if (timeout is { } limit && running.Elapsed >= limit)
            {
                return End(new MachineStopReason(MachineStopKind.Timeout, $"the wall-clock timeout of {limit.TotalSeconds:0.###} s passed"));
            }

            long slice = Math.Min(SliceInstructions, budgetLeft);
            long before = _machine.Cpu.RetiredInstructions;
            running.Start();
            MachineStopReason stop = _machine.Run(slice);
            running.Stop();
            budgetLeft -= stop.Kind == MachineStopKind.BudgetExhausted ? slice : Math.Max(0, _machine.Cpu.RetiredInstructions - before);
            switch (stop.Kind)
            {
                case MachineStopKind.BudgetExhausted:
                    if (_connection is not null && _connection.Receive(TimeSpan.Zero, out _) == GdbConnectionEvent.Interrupt)
                    {
                        // gdb's Ctrl-C: stop with SIGINT (GDB manual, E.8 "Interrupts").
                        stopped = true;
                        SendStopReply(SignalInterrupt);
                    }

                    break;
                case MachineStopKind.Breakpoint when _connection is not null:
                    stopped = true;
                    SendStopReply(SignalTrap, breakpoint: true);
                    break;
                case MachineStopKind.Breakpoint:
                    // A breakpoint left behind by a debugger that is gone: run on.
                    break;
                case MachineStopKind.Paused when _watchHit is not null && _connection is not null:
                    // A watchpoint's hook stopped the run after the instruction that touched its range.
                    stopped = true;
                    SendStopReply(SignalTrap);
                    break;
                default:
                    return End(stop);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        DropConnection();
        _listener.Stop();
        _listener.Dispose();
    }

    private static bool TryParseHex(ReadOnlySpan<char> text, out ulong value)
    {
        value = 0;
        return text.Length is > 0 and <= 16 && ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private static string ToHex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    /// <summary>A terminal stop: tell an attached debugger the "process" exited (W), then close.</summary>
    private MachineStopReason End(MachineStopReason stop)
    {
        if (_connection is not null)
        {
            _connection.Send($"W{stop.ProcessExitStatus & 0xFF:x2}");
            DropConnection();
        }

        return stop;
    }

    private void Accept()
    {
        Socket socket = _listener.AcceptSocket();
        _connection = new GdbConnection(socket);

        // The layout for this connection: gdb reads the description once, when it connects (see ChooseDescription).
        _description = ChooseDescription();
    }

    private void DropConnection()
    {
        if (_connection is null)
        {
            return;
        }

        RejectedPackets += _connection.RejectedPackets;
        _connection.Dispose();
        _connection = null;
        foreach (uint address in _softwareBreakpoints.Concat(_hardwareBreakpoints))
        {
            _machine.Cpu.RemoveHostBreakpoint(address);
        }

        _softwareBreakpoints.Clear();
        _hardwareBreakpoints.Clear();
        foreach (IDisposable watch in _watchpoints.Values)
        {
            watch.Dispose();
        }

        _watchpoints.Clear();
        _watchHit = null;
    }

    private MachineStopReason? StepOne()
    {
        MachineStopReason stop = _machine.Step();
        if (stop.Kind == MachineStopKind.Breakpoint)
        {
            // Stepping onto a breakpoint at the current instruction that was not yet reported: the CPU reports it first
            // and lets the same address pass on the next call.
            stop = _machine.Step();
        }

        if (stop.Kind is not (MachineStopKind.BudgetExhausted or MachineStopKind.Breakpoint) && !(stop.Kind == MachineStopKind.Paused && _watchHit is not null))
        {
            return stop;
        }

        SendStopReply(SignalTrap);
        return null;
    }

    private void SendStopReply(int signal, bool breakpoint = false)
    {
        string reason = string.Empty;
        if (breakpoint)
        {
            uint pc = CurrentLinearPc();
            reason = _softwareBreakpoints.Contains(pc) ? "swbreak:;" : _hardwareBreakpoints.Contains(pc) ? "hwbreak:;" : string.Empty;
        }

        if (_watchHit is not null)
        {
            // The stepped or continued instruction touched a watched range (GDB manual, E.3 "Stop Reply Packets").
            reason = _watchHit;
            _watchHit = null;
        }

        _connection?.Send($"T{signal:x2}thread:1;{reason}");
    }

    private uint CurrentLinearPc() => (uint)(_machine.Cpu.GetSegment(SegmentRegister.Cs).Base + _machine.Cpu.Eip);

    /// <summary>Waits briefly for one packet and answers it.</summary>
    private Resume ServeOne()
    {
        GdbConnection connection = _connection!;
        if (connection.Receive(s_pollInterval, out byte[] raw) != GdbConnectionEvent.Packet)
        {
            return Resume.None;
        }

        string packet = Encoding.Latin1.GetString(raw);
        Resume resume = Resume.None;
        string? reply;
        try
        {
            reply = Handle(packet, raw, ref resume);
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException or IndexOutOfRangeException)
        {
            // Belt and braces: a packet the parsers did not foresee gets an error, never a crashed host.
            reply = "E01";
        }

        if (reply is not null)
        {
            connection.Send(reply);
        }

        return resume;
    }

    /// <summary>Answers one packet; null when the answer comes later (a stop reply after c or s).</summary>
    private string? Handle(string packet, byte[] raw, ref Resume resume)
    {
        if (packet.Length == 0)
        {
            return string.Empty;
        }

        char command = packet[0];
        ReadOnlySpan<char> args = packet.AsSpan(1);
        switch (command)
        {
            case '?':
                return $"T{SignalTrap:x2}thread:1;";
            case 'g':
                return ReadAllRegisters();
            case 'G':
                return WriteAllRegisters(args);
            case 'p':
                return TryParseHex(args, out ulong number) && number < (ulong)_description.Registers.Count ? ReadRegister(_description.Registers[(int)number]) : "E01";
            case 'P':
                return WriteRegister(args);
            case 'm':
                return ReadMemory(args);
            case 'M':
                return WriteMemoryHex(args);
            case 'X':
                return WriteMemoryBinary(raw);
            case 'Z':
            case 'z':
                return Breakpoint(command == 'Z', args);
            case 'c':
            case 's':
                if (args.Length != 0)
                {
                    if (!TryParseHex(args, out ulong address) || address > uint.MaxValue)
                    {
                        return "E01";
                    }

                    _machine.Cpu.Eip = (uint)address;
                }

                resume = command == 'c' ? Resume.Continue : Resume.Step;
                return null;
            case 'D':
                resume = Resume.Detach;
                return "OK";
            case 'k':
                resume = Resume.Kill;
                return null;
            case 'H':
                return "OK";
            case 'T':
                return "OK";
            case 'q':
            case 'Q':
                return Query(packet);
            case 'v':
                return VerbosePacket(packet, ref resume);
            default:
                return string.Empty;
        }
    }

    private string? Query(string packet)
    {
        if (packet.StartsWith("qSupported", StringComparison.Ordinal))
        {
            return $"PacketSize={GdbConnection.MaxPacketSizeInBytes:x};qXfer:features:read+;vContSupported+;swbreak+;hwbreak+;QStartNoAckMode+";
        }

        if (packet == "QStartNoAckMode")
        {
            // The OK is still acknowledged by gdb; from the next packet on, nobody acks (GDB manual, E.11 "Packet Acknowledgment").
            _connection!.Send("OK");
            _connection.NoAckMode = true;
            return null;
        }

        const string featuresPrefix = "qXfer:features:read:";
        if (packet.StartsWith(featuresPrefix, StringComparison.Ordinal))
        {
            string[] parts = packet[featuresPrefix.Length..].Split(':');
            if (parts.Length != 2 || parts[0] != "target.xml")
            {
                return "E00";
            }

            string[] range = parts[1].Split(',');
            if (range.Length != 2 || !TryParseHex(range[0], out ulong offset) || !TryParseHex(range[1], out ulong length))
            {
                return "E01";
            }

            string xml = _description.Xml;
            if (offset >= (ulong)xml.Length)
            {
                return "l";
            }

            int count = (int)Math.Min(Math.Min(length, (ulong)MaxMemoryTransferInBytes), (ulong)xml.Length - offset);
            return (offset + (ulong)count == (ulong)xml.Length ? "l" : "m") + xml.Substring((int)offset, count);
        }

        return packet switch
        {
            "qAttached" => "1",
            "qC" => "QC1",
            "qfThreadInfo" => "m1",
            "qsThreadInfo" => "l",
            "qSymbol::" => "OK",
            _ when packet.StartsWith("qRcmd,", StringComparison.Ordinal) => Monitor(packet["qRcmd,".Length..]),
            _ => string.Empty,
        };
    }

    private string? VerbosePacket(string packet, ref Resume resume)
    {
        if (packet == "vCont?")
        {
            return "vCont;c;C;s;S";
        }

        if (packet.StartsWith("vCont;", StringComparison.Ordinal))
        {
            // One thread: the first action decides (vCont;s:1;c means step thread 1, the rest continue).
            char action = packet.Length > 6 ? packet[6] : '\0';
            switch (action)
            {
                case 'c' or 'C':
                    resume = Resume.Continue;
                    return null;
                case 's' or 'S':
                    resume = Resume.Step;
                    return null;
                default:
                    return "E01";
            }
        }

        if (packet.StartsWith("vKill", StringComparison.Ordinal))
        {
            _connection!.Send("OK");
            resume = Resume.Kill;
            return null;
        }

        return string.Empty;
    }

    private string Monitor(string hexCommand)
    {
        string command;
        try
        {
            command = Encoding.ASCII.GetString(Convert.FromHexString(hexCommand)).Trim();
        }
        catch (FormatException)
        {
            return "E01";
        }

        string output;
        switch (command)
        {
            case "reset" or "system_reset":
                _machine.Reset();
                output = "machine reset\n";
                break;
            case "info registers" or "info regs":
                output = DescribeRegisters();
                break;
            case "help" or "":
                output = "monitor commands: reset, info registers, help\n";
                break;
            default:
                output = $"unknown monitor command '{command}' (try 'monitor help')\n";
                break;
        }

        return ToHex(Encoding.ASCII.GetBytes(output));
    }

    private string DescribeRegisters()
    {
        X86Cpu cpu = _machine.Cpu;
        var text = new StringBuilder();
        for (int n = 0; n < 8; n++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{s_legacyRegisterNames[n]}={cpu.GetRegister((GeneralRegister)n):x8} ");
        }

        text.Append(CultureInfo.InvariantCulture, $"\nEIP={cpu.Eip:x8} EFL={cpu.Flags:x8} CPL={cpu.Cpl}\n");
        foreach (SegmentRegister segment in Enum.GetValues<SegmentRegister>())
        {
            SegmentState s = cpu.GetSegment(segment);
            text.Append(CultureInfo.InvariantCulture, $"{segment.ToString().ToUpperInvariant()}={s.Selector:x4} {s.Base:x8} {s.Limit:x8} {s.Attributes:x4}\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"CR0={cpu.Cr0:x8} CR2={cpu.Cr2:x8} CR3={cpu.Cr3:x8} CR4={cpu.Cr4:x8}\n");
        return text.ToString();
    }

    private bool TryParseAddressAndLength(ReadOnlySpan<char> text, out ulong address, out int length)
    {
        address = 0;
        length = 0;
        int comma = text.IndexOf(',');
        if (comma < 0 || !TryParseHex(text[..comma], out address) || !TryParseHex(text[(comma + 1)..], out ulong count))
        {
            return false;
        }

        length = (int)Math.Min(count, (ulong)MaxMemoryTransferInBytes);
        return true;
    }

    private string ReadMemory(ReadOnlySpan<char> args)
    {
        if (!TryParseAddressAndLength(args, out ulong address, out int length))
        {
            return "E01";
        }

        byte[] buffer = new byte[length];
        int done = AccessMemory(address, buffer, write: false);

        // A read that stops at an unmapped page returns what it got; nothing readable at all is an error (GDB manual, E.4 'm').
        return done == 0 && length != 0 ? "E14" : ToHex(buffer.AsSpan(0, done));
    }

    private string WriteMemoryHex(ReadOnlySpan<char> args)
    {
        int colon = args.IndexOf(':');
        if (colon < 0 || !TryParseAddressAndLength(args[..colon], out ulong address, out int length))
        {
            return "E01";
        }

        ReadOnlySpan<char> hex = args[(colon + 1)..];
        if (hex.Length != length * 2)
        {
            return "E01";
        }

        byte[] data;
        try
        {
            data = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return "E01";
        }

        return AccessMemory(address, data, write: true) == data.Length ? "OK" : "E14";
    }

    private string WriteMemoryBinary(byte[] raw)
    {
        int colon = Array.IndexOf(raw, (byte)':');
        if (colon < 0)
        {
            return "E01";
        }

        string header = Encoding.ASCII.GetString(raw, 1, colon - 1);
        if (!TryParseAddressAndLength(header, out ulong address, out int length) || raw.Length - colon - 1 != length)
        {
            return "E01";
        }

        byte[] data = raw[(colon + 1)..];
        return AccessMemory(address, data, write: true) == data.Length ? "OK" : "E14";
    }

    /// <summary>
    /// Copies between guest linear memory and <paramref name="buffer"/> page by page, translating without side effects.
    /// Stops at the first page that is not present, not RAM or ROM (MMIO is not touched: a debugger read must not pop a FIFO).
    /// </summary>
    /// <returns>The number of bytes transferred.</returns>
    private int AccessMemory(ulong address, Span<byte> buffer, bool write)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            ulong linear = address + (ulong)done;
            if (linear < address || !_machine.Cpu.TryTranslateLinear(linear, out PhysicalAddress physical))
            {
                break;
            }

            MemoryRegionInfo? region = _machine.Memory.FindRegion(physical);
            if (region is null || region.Kind == MemoryRegionKind.Mmio || !region.Enabled)
            {
                break;
            }

            int inPage = (int)Math.Min((ulong)(buffer.Length - done), PhysicalMemoryMap.PageSizeInBytes - (linear & PhysicalMemoryMap.PageOffsetMask));
            Span<byte> chunk = buffer.Slice(done, inPage);
            if (write)
            {
                _machine.Memory.Write(physical, chunk);
            }
            else
            {
                _machine.Memory.Read(physical, chunk);
            }

            done += inPage;
        }

        if (write && done != 0)
        {
            // The debugger may have patched code: drop decoded blocks so the new bytes run (writes are rare).
            _machine.Cpu.FlushDecodeCache();
        }

        return done;
    }

    private string Breakpoint(bool insert, ReadOnlySpan<char> args)
    {
        string[] parts = args.ToString().Split(',');
        if (parts.Length < 3 || parts[0].Length != 1 || !TryParseHex(parts[1], out ulong address))
        {
            return "E01";
        }

        HashSet<uint> set;
        switch (parts[0][0])
        {
            case '0':
                set = _softwareBreakpoints;
                break;
            case '1':
                set = _hardwareBreakpoints;
                break;
            case '2' or '3' or '4':
                return Watchpoint(insert, parts[0][0], address, parts[2]);
            default:
                return string.Empty; // an unknown type: the empty reply says it is not supported
        }

        if (address > uint.MaxValue)
        {
            return "E01";
        }

        uint linear = (uint)address;
        if (insert)
        {
            set.Add(linear);
            _machine.Cpu.AddHostBreakpoint(linear);
        }
        else if (set.Remove(linear) && !_softwareBreakpoints.Contains(linear) && !_hardwareBreakpoints.Contains(linear))
        {
            _machine.Cpu.RemoveHostBreakpoint(linear);
        }

        return "OK";
    }

    /// <summary>
    /// Z2/z2 (write), Z3/z3 (read) and Z4/z4 (access) watchpoints as host memory watches on linear addresses
    /// (<see cref="MachineHooks.AddMemoryWatch"/>): the guest does not see them and any number may be set.
    /// </summary>
    private string Watchpoint(bool insert, char type, ulong address, string lengthText)
    {
        if (!TryParseHex(lengthText, out ulong length) || length == 0 || address > uint.MaxValue || length - 1 > uint.MaxValue - address)
        {
            return "E01";
        }

        var key = (type, address, length);
        if (!insert)
        {
            if (_watchpoints.Remove(key, out IDisposable? removed))
            {
                removed.Dispose();
            }

            return "OK";
        }

        if (_watchpoints.ContainsKey(key))
        {
            return "OK";
        }

        (MemoryWatchKind kind, string name) = type switch
        {
            '2' => (MemoryWatchKind.Write, "watch"),
            '3' => (MemoryWatchKind.Read, "rwatch"),
            _ => (MemoryWatchKind.ReadWrite, "awatch"),
        };
        _watchpoints[key] = _machine.Hooks.AddMemoryWatch(address, length, kind, context =>
        {
            // gdb finds its watchpoint by the data address, which must lie inside the watched range: an access that only
            // partly overlaps it reports the range's first byte.
            _watchHit ??= $"{name}:{Math.Max(context.LinearAddress, address):x};";
            context.Stop();
        });
        return "OK";
    }
}
