namespace Virt.Cpu.Tests.Conformance;

/// <summary>
/// The fault the modelled CPU must raise (<see cref="Sst286FaultModel"/>): its vector, and the state it is raised from:
/// the eight general registers (AX, CX, DX, BX, SP, BP, SI, DI) and FLAGS, after <paramref name="Iterations"/> complete
/// iterations of a REP string instruction (0 for every other instruction).
/// </summary>
internal sealed record ModelledFault(int Vector, ushort[] Registers, ushort Flags, int Iterations);
