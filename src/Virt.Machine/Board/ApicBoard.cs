using Microsoft.Extensions.Logging;
using Virt.Cpu;
using Virt.Devices;
using Virt.Memory;

namespace Virt.Machine;

/// <summary>
/// The APIC part of the board (<see cref="MachineBuilder.WithApic"/>): the local APIC as the CPU's interrupt controller
/// with the 8259A pair behind LINT0, the I/O APIC on the ISA IRQs, their MMIO windows and the MSRs and CPUID bits the
/// CPU reports for them. Created by the builder, connected to the CPU by <see cref="Attach"/>.
/// </summary>
internal sealed partial class ApicBoard
{
    /// <summary>The memory-map region of the local APIC's window.</summary>
    public const string LocalApicRegion = "local APIC";

    /// <summary>The memory-map region of the I/O APIC's window.</summary>
    public const string IoApicRegion = "I/O APIC";

    /// <summary>CPUID.1:EDX bit 26, SSE2 (Intel SDM Vol. 2A, CPUID, Table 3-11): MFENCE and LFENCE are there.</summary>
    internal const uint Sse2FeatureEdx = 1u << 26;

    private readonly ClockSynchronizingMmioDevice _localApicWindow;
    private readonly ILogger _logger;
    private ApicMsrHandler? _msrHandler;
    private PhysicalMemoryMap? _memory;

    /// <param name="clock">The machine's clock.</param>
    /// <param name="pic">The 8259A pair behind LINT0.</param>
    /// <param name="loggerFactory">Loggers.</param>
    /// <param name="x2Apic">Whether the local APIC implements x2APIC mode (the CPU model reports CPUID.1:ECX bit 21).</param>
    public ApicBoard(IVirtualClock clock, Pic8259Pair pic, ILoggerFactory loggerFactory, bool x2Apic = false)
    {
        _logger = loggerFactory.CreateLogger(MachineLogCategories.Machine);
        IoApic = new IoApic(logger: loggerFactory.CreateLogger<IoApic>());
        LocalApic = new LocalApic(clock, new LocalApicOptions { X2ApicSupported = x2Apic }, loggerFactory.CreateLogger<LocalApic>())
        {
            ExternalInterrupts = new PicExternalInterruptSource(pic),
            EndOfInterruptListener = IoApic,
        };
        IoApic.Target = LocalApic;
        _localApicWindow = new ClockSynchronizingMmioDevice(LocalApic);
    }

    public LocalApic LocalApic { get; }

    public IoApic IoApic { get; }

    /// <summary>The CPU's interrupt controller: the local APIC.</summary>
    public IInterruptController InterruptController => new LocalApicInterruptController(LocalApic);

    /// <summary>Maps the two windows at their reset addresses.</summary>
    public void AddTo(PhysicalMemoryMapBuilder map)
    {
        map.AddMmio(LocalApicRegion, new PhysicalAddress(LocalApic.DefaultBaseAddress), LocalApic.WindowSizeInBytes, _localApicWindow);
        map.AddMmio(IoApicRegion, new PhysicalAddress(IoApic.DefaultBaseAddress), IoApic.WindowSizeInBytes, IoApic);
    }

    /// <summary>
    /// The CPU options with the APIC's MSRs and its CPUID bits added to the host's: APIC always, TSC-deadline only when
    /// the model reports SSE2.
    /// </summary>
    /// <remarks>
    /// Every processor with the TSC-deadline timer has SSE2, and software relies on it: Linux fences the switch to
    /// TSC-deadline mode with MFENCE (an SSE2 instruction, #UD without it; Intel SDM Vol. 3A, 11.5.4.1 asks for a
    /// serialising step between the LVT write and the IA32_TSC_DEADLINE write), so a model without SSE2 that claimed the
    /// feature would crash the kernel when it starts its local APIC timer. Without the bit the OS uses one-shot or
    /// periodic mode, as under QEMU's default 32-bit CPU.
    /// </remarks>
    public CpuOptions Configure(CpuOptions options)
    {
        _msrHandler = new ApicMsrHandler(LocalApic, options.MsrHandler);
        uint tscDeadline = (options.Cpuid.FeaturesEdx & Sse2FeatureEdx) != 0 ? CpuidModel.TscDeadlineFeatureEcx : 0;
        CpuidModel cpuid = options.Cpuid with
        {
            FeaturesEdx = options.Cpuid.FeaturesEdx | CpuidModel.ApicFeatureEdx,
            FeaturesEcx = options.Cpuid.FeaturesEcx | tscDeadline,
        };
        return options with { Cpuid = cpuid, MsrHandler = _msrHandler };
    }

    /// <summary>Connects the APIC to the machine's CPU, memory map and clock catch-up.</summary>
    public void Attach(Machine machine, Action synchronizeClock)
    {
        _memory = machine.Memory;
        _msrHandler!.Cpu = machine.Cpu;
        LocalApic.NmiRequested = machine.Cpu.RaiseNmi;
        LocalApic.WindowChanged = RemapLocalApicWindow;
        _localApicWindow.BeforeAccess = synchronizeClock;
    }

    /// <summary>Sends both devices' register writes and messages to a tracer.</summary>
    public void Observe(IApicEventObserver observer)
    {
        LocalApic.Observer = observer;
        IoApic.Observer = observer;
    }

    /// <summary>
    /// Follows IA32_APIC_BASE: the window moves with the base and is not decoded while the APIC is globally disabled
    /// (SDM 10.4.4) or in x2APIC mode. A base that would overlap RAM or another device is refused (the window stays off) and logged: the
    /// memory map has no overlays, and no known guest relocates the APIC.
    /// </summary>
    private void RemapLocalApicWindow()
    {
        if (_memory is null)
        {
            return;
        }

        _memory.SetRegionEnabled(LocalApicRegion, false);
        if (!LocalApic.IsMmioDecoded)
        {
            // Globally disabled, or in x2APIC mode, where the registers are MSRs (SDM 11.12.1.2).
            return;
        }

        var target = new PhysicalAddress(LocalApic.BaseAddress);
        try
        {
            _memory.MoveRegion(LocalApicRegion, target);
            _memory.SetRegionEnabled(LocalApicRegion, true);
        }
        catch (InvalidOperationException e)
        {
            LogWindowRefused(_logger, LocalApic.BaseAddress, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The guest moved the local APIC window to {Address:X}h, where it cannot be mapped ({Reason}); it stays off.")]
    private static partial void LogWindowRefused(ILogger logger, ulong address, string reason);
}
