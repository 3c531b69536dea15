namespace Virt.Cpu;

/// <summary>
/// What the CPU remembers about a shutdown: the chain of exceptions that ended in a triple fault, recorded only on the
/// failed-delivery path of <see cref="DeliverEvent"/> into a fixed array (no allocation until the report itself is built,
/// once, when it is first read after a shutdown), and the optional observer that traces every delivery.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>
    /// Room for the longest chain <see cref="DeliverEvent"/> can produce: the original event, then per failed attempt
    /// (at most <see cref="MaxNestedDeliveries"/>) the fault it raised and possibly the #DF made of it.
    /// </summary>
    private const int MaxChainRecords = 1 + (2 * MaxNestedDeliveries);

    private readonly CpuExceptionRecord[] _chain = new CpuExceptionRecord[MaxChainRecords];
    private int _chainLength;
    private CpuShutdownReport? _lastShutdown;

    /// <summary>
    /// While the CPU is shut down (<see cref="IsShutdown"/>, <see cref="StopReason.Shutdown"/>), the exceptions that shut
    /// it down; otherwise null. Read it before <see cref="Reset"/>. Built on first read (so its instruction count is exact
    /// once <see cref="Run"/> has returned); the chain is empty when the shutdown state came from <see cref="RestoreState"/>.
    /// </summary>
    public CpuShutdownReport? LastShutdown =>
        _shutdown ? _lastShutdown ??= new CpuShutdownReport(_chain.AsSpan(0, _chainLength).ToArray(), _retired) : null;

    /// <summary>
    /// Receives every interrupt and exception before it is delivered (for tracing); null, the default, costs nothing.
    /// Checked only on the delivery path.
    /// </summary>
    public ICpuEventObserver? EventObserver { get; set; }

    /// <summary>The mode the CPU is in now.</summary>
    private CpuMode CurrentMode => !IsProtectedMode ? CpuMode.Real
        : IsLongModeActive ? (_ctx.Code64 ? CpuMode.LongMode64 : CpuMode.Compatibility)
        : (_ctx.Eflags & EflagsBits.Vm) != 0 ? CpuMode.Virtual8086 : _ctx.Code32 ? CpuMode.Protected32 : CpuMode.Protected16;

    /// <summary>Describes an event with the CPU state it meets now.</summary>
    private CpuExceptionRecord CaptureEvent(int vector, int errorCode, CpuEventSource source, ulong cr2) => new()
    {
        Vector = vector,
        ErrorCode = errorCode >= 0 && IsProtectedMode ? errorCode : null, // real-address mode pushes no error code
        Source = source,
        CodeSelector = _ctx.SegSelector[Cs],
        Eip = (uint)_ctx.Rip,
        Rip = _ctx.Rip,
        Cpl = _ctx.Cpl,
        StackSelector = _ctx.SegSelector[Ss],
        Rsp = _ctx.Gpr[RegSp],
        LinearAddress = _ctx.Code64 ? _ctx.Rip : _ctx.SegBase[Cs] + _ctx.Rip,
        Mode = CurrentMode,
        Cr0 = _ctx.Cr0,
        Cr2 = cr2,
        Cr3 = _ctx.Cr3,
        Cr4 = _ctx.Cr4,
        Eflags = GetFlags(),
    };

    /// <summary>Starts a new chain: the first delivery of an event failed.</summary>
    private void BeginExceptionChain(int vector, int errorCode, CpuEventSource source, ulong cr2)
    {
        _chainLength = 0;
        AppendToExceptionChain(vector, errorCode, source, cr2);
    }

    private void AppendToExceptionChain(int vector, int errorCode, CpuEventSource source, ulong cr2)
    {
        if (_chainLength < _chain.Length)
        {
            _chain[_chainLength++] = CaptureEvent(vector, errorCode, source, cr2);
        }
    }

    /// <summary>Enters the shutdown state (Intel SDM Vol. 3A, 6.15, interrupt 8); <see cref="LastShutdown"/> reports the chain recorded.</summary>
    private void EnterShutdown()
    {
        _shutdown = true;
        _lastShutdown = null;
    }

    /// <summary>Forgets the chain (at reset and when a state is restored).</summary>
    private void ClearExceptionChain()
    {
        _chainLength = 0;
        _lastShutdown = null;
    }
}
