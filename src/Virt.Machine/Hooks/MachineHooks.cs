using Virt.Cpu;
using Virt.Devices;
using Virt.Memory;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Machine;

/// <summary>
/// Host hooks that observe and may change what the guest sees: port reads and writes, MMIO reads and writes, CPUID, RDMSR,
/// WRMSR, RDTSC, the execution of an instruction at a given address, memory watches, block entries (coverage),
/// instruction counts, exceptions and software interrupts, hardware interrupts and triple faults (<see cref="Machine.Hooks"/>).
/// </summary>
/// <remarks>
/// <para>
/// Each <c>Add…</c> returns a registration; disposing it removes the hook. Hooks of one kind run in the order they were
/// added, each seeing the previous one's result. An addition or removal takes effect at the next instruction.
/// </para>
/// <para>
/// Cost when none is set: nothing. The CPU's port space is replaced by a dispatcher only while a port hook exists, and the
/// memory map gets an MMIO interceptor only while an MMIO hook exists (RAM accesses never look at it); the
/// CPUID, MSR and RDTSC hooks are one null check inside those instructions; a code hook is a host breakpoint
/// (<see cref="Virt.Cpu.Cpu.AddHostBreakpoint"/>), which keeps the CPU on its one-instruction-at-a-time debug path only
/// while at least one is set. Block and instruction-count hooks cost one never-taken branch per block while none is set
/// (see <c>Cpu.HostHooks.cs</c>); the exception hook is one null check per delivered exception.
/// </para>
/// <para>
/// Hooks that return what they were given leave the run identical to one without them (same instructions retired, same
/// memory), also in deterministic mode.
/// </para>
/// <para>
/// Thread safety: every <c>Add…</c> and every registration's <c>Dispose</c> may be called from any thread, also while the
/// machine runs on another. Such a change is applied on the thread running the machine: the caller asks the CPU to stop
/// after its current instruction (<see cref="Virt.Cpu.Cpu.RequestStopAfterInstruction"/>), the run loop applies the
/// change before it runs the next instruction, and the call returns once it was applied. So a hook added fires for every
/// instruction that starts after <c>Add…</c> returned, and a hook removed is not called once <c>Dispose</c> returned;
/// instructions already decoded are no exception, since no hook is compiled into decoded code. Called on the thread
/// running the machine (from a hook or a device callback) or while no run is in progress, a change is applied at once
/// and takes effect at the next instruction. A hook must not wait for a thread that is itself adding or removing a hook
/// of the same machine (it would wait for the hook to return).
/// </para>
/// </remarks>
public sealed partial class MachineHooks
{
    private readonly Machine _machine;
    private readonly HookContext _context;
    private readonly Dictionary<uint, CodeHookSite> _codeHooks = [];
    private PortHook<PortReadHook>[] _portReads = [];
    private PortHook<PortWriteHook>[] _portWrites = [];
    private MmioHook<MmioReadHook>[] _mmioReads = [];
    private MmioHook<MmioWriteHook>[] _mmioWrites = [];
    private HookedMmio? _mmioDispatcher;
    private CpuidHook[] _cpuid = [];
    private MsrReadHook[] _msrReads = [];
    private MsrWriteHook[] _msrWrites = [];
    private TscReadHook[] _tscReads = [];
    private HardwareInterruptHook[] _interrupts = [];
    private IInterruptController? _unhookedController;
    private Pic8259PairState? _beforeAcknowledge;
    private IoPortSpace? _unhookedPorts;
    private IoPortSpace? _dispatcher;
    private readonly Dictionary<int, Action<MemoryWatchContext>> _memoryWatches = [];
    private readonly MemoryWatchContext _watchContext;

    internal MachineHooks(Machine machine)
    {
        _machine = machine;
        _context = new HookContext(machine);
        _watchContext = new MemoryWatchContext(machine);
    }

    /// <summary>
    /// Adds a hook called after a guest instruction whose data access (read, write or either, per <paramref name="kind"/>)
    /// overlaps the linear range <paramref name="linearStart"/> .. + <paramref name="lengthInBytes"/> - 1, once per such
    /// access, with its address, width and value. Instruction fetches, page-table walks and device/DMA accesses are not
    /// reported; the guest does not see the watch (no DR6 bits, no #DB). While any watch is set the CPU runs one instruction
    /// at a time and accesses to watched pages take the slow memory path.
    /// </summary>
    /// <param name="linearStart">The first linear address.</param>
    /// <param name="lengthInBytes">The length (at least 1; the range must end below 4 GiB).</param>
    /// <param name="kind">Which accesses to report.</param>
    /// <param name="hook">The hook; <see cref="MemoryWatchContext.Stop"/> ends the run.</param>
    /// <returns>The registration: dispose it to remove the watch.</returns>
    public IDisposable AddMemoryWatch(ulong linearStart, ulong lengthInBytes, MemoryWatchKind kind, Action<MemoryWatchContext> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown memory watch kind.");
        }

        X86Cpu cpu = _machine.Cpu;
        int id = 0;
        Apply(() =>
        {
            id = cpu.AddHostWatch(linearStart, lengthInBytes, reads: kind != MemoryWatchKind.Write, writes: kind != MemoryWatchKind.Read);
            _memoryWatches[id] = hook;
            cpu.HostWatchHandler = RunMemoryWatch;
        });
        return new Registration(this, () =>
        {
            if (_memoryWatches.Remove(id))
            {
                cpu.RemoveHostWatch(id);
            }
        });
    }

    private bool RunMemoryWatch(HostWatchAccess access)
    {
        if (!_memoryWatches.TryGetValue(access.WatchId, out Action<MemoryWatchContext>? hook))
        {
            return false;
        }

        _watchContext.LinearAddress = access.LinearAddress;
        _watchContext.Size = access.Size;
        _watchContext.IsWrite = access.IsWrite;
        _watchContext.Value = access.Value;
        _watchContext.StopRequested = false;
        hook(_watchContext);
        return _watchContext.StopRequested;
    }

    /// <summary>The linear addresses that have code hooks.</summary>
    public IReadOnlyCollection<uint> CodeHookAddresses
    {
        get
        {
            lock (_gate)
            {
                return [.. _codeHooks.Keys];
            }
        }
    }

    /// <summary>
    /// Adds a hook called after the guest reads a port in <paramref name="firstPort"/>..<paramref name="lastPort"/> (the
    /// access's first port decides), with the value the device returned; what it returns is what the guest receives.
    /// </summary>
    /// <param name="firstPort">The first port of the range.</param>
    /// <param name="lastPort">The last port of the range (inclusive).</param>
    /// <param name="hook">The hook.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    public IDisposable AddPortReadHook(ushort firstPort, ushort lastPort, PortReadHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        CheckRange(firstPort, lastPort);
        var entry = new PortHook<PortReadHook>(firstPort, lastPort, hook);
        Apply(() =>
        {
            _portReads = [.. _portReads, entry];
            UpdatePortDispatch();
        });
        return new Registration(this, () =>
        {
            _portReads = Without(_portReads, entry);
            UpdatePortDispatch();
        });
    }

    /// <summary>
    /// Adds a hook called before the guest writes a port in <paramref name="firstPort"/>..<paramref name="lastPort"/> (the
    /// access's first port decides); it may replace the value or suppress the write.
    /// </summary>
    /// <param name="firstPort">The first port of the range.</param>
    /// <param name="lastPort">The last port of the range (inclusive).</param>
    /// <param name="hook">The hook; when it returns false, later hooks are not called and the device sees nothing.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    public IDisposable AddPortWriteHook(ushort firstPort, ushort lastPort, PortWriteHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        CheckRange(firstPort, lastPort);
        var entry = new PortHook<PortWriteHook>(firstPort, lastPort, hook);
        Apply(() =>
        {
            _portWrites = [.. _portWrites, entry];
            UpdatePortDispatch();
        });
        return new Registration(this, () =>
        {
            _portWrites = Without(_portWrites, entry);
            UpdatePortDispatch();
        });
    }

    /// <summary>
    /// Adds a hook called after a device answered a read that overlaps the physical range
    /// <paramref name="firstAddress"/>..<paramref name="lastAddress"/> of any MMIO region (a device added with
    /// <see cref="MachineBuilder.AddMmioDevice"/>, the VGA window, any later memory-mapped device), with the value the
    /// device returned; what it returns is what the guest receives. RAM and ROM reads are not hooked.
    /// </summary>
    /// <param name="firstAddress">The first physical address of the range.</param>
    /// <param name="lastAddress">The last physical address of the range (inclusive).</param>
    /// <param name="hook">The hook.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    /// <remarks>
    /// The hook sees the access as the guest made it (address and width), before the memory map splits it for the device;
    /// an access that crosses the end of the region reaches it a byte at a time. Costs nothing while no MMIO hook is set:
    /// the map then has no interceptor, and RAM never consults it.
    /// </remarks>
    public IDisposable AddMmioReadHook(PhysicalAddress firstAddress, PhysicalAddress lastAddress, MmioReadHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        CheckRange(firstAddress, lastAddress);
        var entry = new MmioHook<MmioReadHook>(firstAddress.Value, lastAddress.Value, hook);
        Apply(() =>
        {
            _mmioReads = [.. _mmioReads, entry];
            UpdateMmioDispatch();
        });
        return new Registration(this, () =>
        {
            _mmioReads = Without(_mmioReads, entry);
            UpdateMmioDispatch();
        });
    }

    /// <summary>
    /// Adds a hook called before a guest write that overlaps the physical range
    /// <paramref name="firstAddress"/>..<paramref name="lastAddress"/> of any MMIO region reaches the device; it may replace
    /// the value or suppress the write (see <see cref="AddMmioReadHook"/> for which accesses are hooked).
    /// </summary>
    /// <param name="firstAddress">The first physical address of the range.</param>
    /// <param name="lastAddress">The last physical address of the range (inclusive).</param>
    /// <param name="hook">The hook; when it returns false, later hooks are not called and the device sees nothing.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    public IDisposable AddMmioWriteHook(PhysicalAddress firstAddress, PhysicalAddress lastAddress, MmioWriteHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        CheckRange(firstAddress, lastAddress);
        var entry = new MmioHook<MmioWriteHook>(firstAddress.Value, lastAddress.Value, hook);
        Apply(() =>
        {
            _mmioWrites = [.. _mmioWrites, entry];
            UpdateMmioDispatch();
        });
        return new Registration(this, () =>
        {
            _mmioWrites = Without(_mmioWrites, entry);
            UpdateMmioDispatch();
        });
    }

    /// <summary>Adds a hook on CPUID: it gets the leaf, the subleaf and the computed EAX..EDX, and may replace them.</summary>
    /// <param name="hook">The hook.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    public IDisposable AddCpuidHook(CpuidHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        Apply(() =>
        {
            _cpuid = [.. _cpuid, hook];
            UpdateCpuHooks();
        });
        return new Registration(this, () =>
        {
            _cpuid = Without(_cpuid, hook);
            UpdateCpuHooks();
        });
    }

    /// <summary>
    /// Adds a hook on RDMSR (at CPL 0): it gets the index, whether the CPU implements the MSR and the value, may replace
    /// the value, and returns false to raise #GP(0) (true also makes an unimplemented MSR readable).
    /// </summary>
    /// <param name="hook">The hook; each sees the previous one's verdict as <c>implemented</c>.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    public IDisposable AddMsrReadHook(MsrReadHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        Apply(() =>
        {
            _msrReads = [.. _msrReads, hook];
            UpdateCpuHooks();
        });
        return new Registration(this, () =>
        {
            _msrReads = Without(_msrReads, hook);
            UpdateCpuHooks();
        });
    }

    /// <summary>Adds a hook on WRMSR (at CPL 0): it may replace the value, or return false to suppress the write.</summary>
    /// <param name="hook">The hook; when it returns false, later hooks are not called.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    public IDisposable AddMsrWriteHook(MsrWriteHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        Apply(() =>
        {
            _msrWrites = [.. _msrWrites, hook];
            UpdateCpuHooks();
        });
        return new Registration(this, () =>
        {
            _msrWrites = Without(_msrWrites, hook);
            UpdateCpuHooks();
        });
    }

    /// <summary>Adds a hook on RDTSC: it gets the counter and returns the value the guest sees.</summary>
    /// <param name="hook">The hook.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    public IDisposable AddTscReadHook(TscReadHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        Apply(() =>
        {
            _tscReads = [.. _tscReads, hook];
            UpdateCpuHooks();
        });
        return new Registration(this, () =>
        {
            _tscReads = Without(_tscReads, hook);
            UpdateCpuHooks();
        });
    }

    /// <summary>
    /// Adds a hook called when the CPU accepts a maskable hardware interrupt from the 8259A pair, with its vector, before
    /// delivery; returning false drops it. A dropped interrupt leaves the controllers as if it had never been accepted,
    /// except that the request is consumed (an edge-triggered request is gone; a level-triggered input still asserted
    /// requests again). Exceptions, software interrupts and NMI are not hooked.
    /// </summary>
    /// <param name="hook">The hook; when it returns false, later hooks are not called.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    public IDisposable AddHardwareInterruptHook(HardwareInterruptHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        Apply(() =>
        {
            _interrupts = [.. _interrupts, hook];
            UpdateInterruptHooks();
        });
        return new Registration(this, () =>
        {
            _interrupts = Without(_interrupts, hook);
            UpdateInterruptHooks();
        });
    }

    /// <summary>
    /// Adds a hook called before the instruction whose first byte is at <paramref name="linearAddress"/> (CS.base + EIP)
    /// executes. It may read and write registers and memory (changing EIP redirects execution) and may end the run
    /// (<see cref="HookContext.Stop"/>). Once the hooks at the address ran, the instruction there executes without calling
    /// them again. The guest sees nothing of it (a host breakpoint: no INT3 in memory, no #DB).
    /// </summary>
    /// <param name="linearAddress">The linear address.</param>
    /// <param name="hook">The hook.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    /// <remarks>
    /// A code hook and a gdb breakpoint at the same address share the CPU's one host breakpoint there: the run stops for
    /// the debugger after the hooks ran when the breakpoint was set first; removing the gdb breakpoint removes the hook's.
    /// </remarks>
    public IDisposable AddCodeHook(uint linearAddress, Action<HookContext> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        CodeHookSite? site = null;
        Apply(() =>
        {
            if (!_codeHooks.TryGetValue(linearAddress, out site))
            {
                // AddHostBreakpoint says false when a debugger already set one there: that one stays the debugger's.
                site = new CodeHookSite(ownsBreakpoint: _machine.Cpu.AddHostBreakpoint(linearAddress));
                _codeHooks.Add(linearAddress, site);
            }

            site.Hooks = [.. site.Hooks, hook];
        });
        return new Registration(this, () =>
        {
            site!.Hooks = Without(site.Hooks, hook);
            if (site.Hooks.Length == 0 && _codeHooks.Remove(linearAddress) && site.OwnsBreakpoint)
            {
                _machine.Cpu.RemoveHostBreakpoint(linearAddress);
            }
        });
    }

    /// <summary>
    /// The CPU stopped at a host breakpoint: runs the code hooks there, if any.
    /// </summary>
    /// <param name="stop">Set when a hook asked to stop.</param>
    /// <returns>True when the run should go on (hooks ran and the breakpoint is only theirs); false to report the breakpoint or stop.</returns>
    internal bool RunCodeHooks(out bool stop)
    {
        stop = false;
        X86Cpu cpu = _machine.Cpu;
        uint linear = (uint)(cpu.GetSegment(SegmentRegister.Cs).Base + cpu.Eip);
        if (!_codeHooks.TryGetValue(linear, out CodeHookSite? site))
        {
            return false;
        }

        _context.LinearAddress = linear;
        _context.StopRequested = false;
        foreach (Action<HookContext> hook in site.Hooks)
        {
            hook(_context);
        }

        stop = _context.StopRequested;
        return !stop && site.OwnsBreakpoint;
    }

    private static void CheckRange(ushort firstPort, ushort lastPort)
    {
        if (lastPort < firstPort)
        {
            throw new ArgumentOutOfRangeException(nameof(lastPort), lastPort, $"lastPort must not be below firstPort ({firstPort:X4}h).");
        }
    }

    private static void CheckRange(PhysicalAddress firstAddress, PhysicalAddress lastAddress)
    {
        if (lastAddress.Value < firstAddress.Value)
        {
            throw new ArgumentOutOfRangeException(nameof(lastAddress), lastAddress, $"lastAddress must not be below firstAddress ({firstAddress}).");
        }
    }

    /// <summary>
    /// Installs the interceptor in the memory map while an MMIO hook exists and takes it out when none is left; an
    /// interceptor the host set on the map itself before stays in the chain (it runs first on reads, last on writes).
    /// </summary>
    private void UpdateMmioDispatch()
    {
        PhysicalMemoryMap memory = _machine.Memory;
        if (_mmioReads.Length == 0 && _mmioWrites.Length == 0)
        {
            if (_mmioDispatcher is not null && memory.MmioInterceptor == _mmioDispatcher)
            {
                memory.MmioInterceptor = _mmioDispatcher.Inner;
            }

            _mmioDispatcher = null;
            return;
        }

        if (_mmioDispatcher is null)
        {
            _mmioDispatcher = new HookedMmio(this, memory.MmioInterceptor);
            memory.MmioInterceptor = _mmioDispatcher;
        }
    }

    private static T[] Without<T>(T[] hooks, T hook)
        where T : class
    {
        int index = Array.IndexOf(hooks, hook);
        return index < 0 ? hooks : [.. hooks[..index], .. hooks[(index + 1)..]];
    }

    private void UpdatePortDispatch()
    {
        X86Cpu cpu = _machine.Cpu;
        if (_portReads.Length == 0 && _portWrites.Length == 0)
        {
            if (_unhookedPorts is not null)
            {
                cpu.PortSpace = _unhookedPorts;
            }

            return;
        }

        if (_dispatcher is null)
        {
            // The space the CPU used without hooks (the machine's, or the tracer's wrapper around it) stays the target.
            _unhookedPorts = cpu.PortSpace;
            _dispatcher = new IoPortSpace();
            _dispatcher.Register("port hooks", 0, IoPortSpace.PortCount, new HookedPorts(this, _unhookedPorts));
        }

        cpu.PortSpace = _dispatcher;
    }

    private void UpdateCpuHooks()
    {
        X86Cpu cpu = _machine.Cpu;
        cpu.CpuidHook = _cpuid.Length == 0 ? null : RunCpuidHooks;
        cpu.MsrReadHook = _msrReads.Length == 0 ? null : RunMsrReadHooks;
        cpu.MsrWriteHook = _msrWrites.Length == 0 ? null : RunMsrWriteHooks;
        cpu.TscReadHook = _tscReads.Length == 0 ? null : RunTscReadHooks;
    }

    private void UpdateInterruptHooks()
    {
        X86Cpu cpu = _machine.Cpu;
        if (_interrupts.Length == 0)
        {
            if (_unhookedController is not null)
            {
                cpu.InterruptController = _unhookedController;
                _unhookedController = null;
            }

            cpu.HardwareInterruptHook = null;
            return;
        }

        if (_unhookedController is null && cpu.InterruptController is { } controller)
        {
            _unhookedController = controller;
            cpu.InterruptController = new RememberingController(this, controller);
        }

        cpu.HardwareInterruptHook = RunInterruptHooks;
    }

    private bool RunInterruptHooks(byte vector)
    {
        foreach (HardwareInterruptHook hook in _interrupts)
        {
            if (!hook(vector))
            {
                UndoAcknowledge();
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Takes the in-service bits and the rotating priority back to before the INTA cycle (8259A datasheet: INTA sets the
    /// ISR bit of the request, and of IR2 on the master for a slave request, unless in automatic EOI mode, where it may
    /// rotate priorities instead); the request bits stay as the acknowledgement left them, so the request is consumed.
    /// </summary>
    private void UndoAcknowledge()
    {
        if (_beforeAcknowledge is not { } before)
        {
            return;
        }

        Pic8259Pair pic = _machine.Pic;
        Pic8259PairState after = pic.SaveState();
        pic.RestoreState(after with
        {
            Master = after.Master with { Isr = before.Master.Isr, LowestPriority = before.Master.LowestPriority },
            Slave = after.Slave with { Isr = before.Slave.Isr, LowestPriority = before.Slave.LowestPriority },
        });
        _beforeAcknowledge = null;
    }

    private void RunCpuidHooks(uint leaf, uint subleaf, ref uint eax, ref uint ebx, ref uint ecx, ref uint edx)
    {
        foreach (CpuidHook hook in _cpuid)
        {
            hook(leaf, subleaf, ref eax, ref ebx, ref ecx, ref edx);
        }
    }

    private bool RunMsrReadHooks(uint index, bool implemented, ref ulong value)
    {
        foreach (MsrReadHook hook in _msrReads)
        {
            implemented = hook(index, implemented, ref value);
        }

        return implemented;
    }

    private bool RunMsrWriteHooks(uint index, ref ulong value)
    {
        foreach (MsrWriteHook hook in _msrWrites)
        {
            if (!hook(index, ref value))
            {
                return false;
            }
        }

        return true;
    }

    private ulong RunTscReadHooks(ulong value)
    {
        foreach (TscReadHook hook in _tscReads)
        {
            value = hook(value);
        }

        return value;
    }

    private static uint WidthMask(int sizeInBytes) => sizeInBytes >= 4 ? uint.MaxValue : (1u << (sizeInBytes * 8)) - 1;

    /// <summary>A port hook and its range (a class: removal is by identity, even of the same delegate added twice).</summary>
    private sealed class PortHook<T>(ushort firstPort, ushort lastPort, T hook)
        where T : Delegate
    {
        public ushort FirstPort { get; } = firstPort;

        public ushort LastPort { get; } = lastPort;

        public T Hook { get; } = hook;
    }

    /// <summary>An MMIO hook and its physical range (a class: removal is by identity).</summary>
    private sealed class MmioHook<T>(ulong firstAddress, ulong lastAddress, T hook)
        where T : Delegate
    {
        public T Hook { get; } = hook;

        /// <summary>Whether the access of <paramref name="width"/> bytes at <paramref name="address"/> overlaps the range.</summary>
        public bool Overlaps(ulong address, int width) => address <= lastAddress && address + (ulong)(width - 1) >= firstAddress;
    }

    /// <summary>The code hooks at one address.</summary>
    private sealed class CodeHookSite(bool ownsBreakpoint)
    {
        public bool OwnsBreakpoint { get; } = ownsBreakpoint;

        public Action<HookContext>[] Hooks { get; set; } = [];
    }

    /// <summary>Removes a hook once, on the thread running the machine (see <see cref="Apply"/>).</summary>
    private sealed class Registration(MachineHooks owner, Action remove) : IDisposable
    {
        private Action? _remove = remove;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _remove, null) is { } remove)
            {
                owner.Apply(remove);
            }
        }
    }

    /// <summary>The interrupt controller the CPU uses while interrupt hooks exist: remembers the 8259A pair's state before each INTA cycle.</summary>
    private sealed class RememberingController(MachineHooks owner, IInterruptController inner) : IInterruptController
    {
        public bool IsInterruptPending => inner.IsInterruptPending;

        public byte Acknowledge()
        {
            owner._beforeAcknowledge = owner._machine.Pic.SaveState();
            return inner.Acknowledge();
        }
    }

    /// <summary>The memory map's MMIO interceptor while MMIO hooks exist: runs the hooks in the order they were added.</summary>
    private sealed class HookedMmio(MachineHooks owner, IMmioAccessInterceptor? inner) : IMmioAccessInterceptor
    {
        public IMmioAccessInterceptor? Inner => inner;

        public ulong AfterRead(string region, PhysicalAddress address, int sizeInBytes, ulong value)
        {
            if (inner is not null)
            {
                value = inner.AfterRead(region, address, sizeInBytes, value);
            }

            ulong mask = MmioWidthMask(sizeInBytes);
            value &= mask;
            foreach (MmioHook<MmioReadHook> entry in owner._mmioReads)
            {
                if (entry.Overlaps(address.Value, sizeInBytes))
                {
                    value = entry.Hook(address, sizeInBytes, value) & mask;
                }
            }

            return value;
        }

        public bool BeforeWrite(string region, PhysicalAddress address, int sizeInBytes, ref ulong value)
        {
            ulong mask = MmioWidthMask(sizeInBytes);
            foreach (MmioHook<MmioWriteHook> entry in owner._mmioWrites)
            {
                if (entry.Overlaps(address.Value, sizeInBytes))
                {
                    if (!entry.Hook(address, sizeInBytes, ref value))
                    {
                        return false;
                    }

                    value &= mask;
                }
            }

            return inner is null || inner.BeforeWrite(region, address, sizeInBytes, ref value);
        }

        private static ulong MmioWidthMask(int sizeInBytes) => sizeInBytes >= 8 ? ulong.MaxValue : (1UL << (sizeInBytes * 8)) - 1;
    }

    /// <summary>The dispatcher the CPU uses while port hooks exist: registered at port 0, so offsets are ports.</summary>
    private sealed class HookedPorts(MachineHooks owner, IoPortSpace inner) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.UpToDoubleWord;

        public uint Read(ushort offset, int sizeInBytes)
        {
            uint value = inner.Read(offset, sizeInBytes);
            foreach (PortHook<PortReadHook> entry in owner._portReads)
            {
                if (offset >= entry.FirstPort && offset <= entry.LastPort)
                {
                    value = entry.Hook(offset, sizeInBytes, value) & WidthMask(sizeInBytes);
                }
            }

            return value;
        }

        public void Write(ushort offset, int sizeInBytes, uint value)
        {
            foreach (PortHook<PortWriteHook> entry in owner._portWrites)
            {
                if (offset >= entry.FirstPort && offset <= entry.LastPort && !entry.Hook(offset, sizeInBytes, ref value))
                {
                    return;
                }
            }

            inner.Write(offset, sizeInBytes, value & WidthMask(sizeInBytes));
        }
    }
}
