namespace Virt.Cpu;

/// <summary>Numbers the whole core shares: exception vectors (Intel SDM Vol. 3A, 6.3.1), segment and register indices.</summary>
public sealed partial class Cpu
{
    private const uint ResetEip = 0xFFF0;
    private const int VectorDivideError = 0;
    private const int VectorDebug = 1;
    private const int VectorNmi = 2;
    private const int VectorBreakpoint = 3;
    private const int VectorOverflow = 4;
    private const int VectorBound = 5;
    private const int VectorInvalidOpcode = 6;
    private const int VectorDeviceNotAvailable = 7;
    private const int VectorDoubleFault = 8;
    private const int VectorStackFault = 12;
    private const int VectorGeneralProtection = 13;

    private const int Es = 0;
    private const int Cs = 1;
    private const int Ss = 2;
    private const int Ds = 3;
    private const int Fs = 4;
    private const int Gs = 5;

    /// <summary>The implemented linear-address width of IA-32e mode (CPUID 80000008h EAX[15:8]).</summary>
    internal const int LinearAddressBits = 48;

    private const int RegAx = 0;
    private const int RegCx = 1;
    private const int RegDx = 2;
    private const int RegBx = 3;
    private const int RegSp = 4;
    private const int RegBp = 5;
    private const int RegSi = 6;
    private const int RegDi = 7;
}
