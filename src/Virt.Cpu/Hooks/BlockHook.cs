namespace Virt.Cpu;

/// <summary>
/// Called by the run loop at the entry of every block it executes (<see cref="Cpu.BlockHook"/>): a straight run of
/// instructions as the CPU decoded it, up to a branch or the block size limit.
/// </summary>
/// <param name="linearAddress">The linear address of the block's first instruction (CS.base + RIP; RIP in 64-bit mode).</param>
/// <param name="lengthInBytes">The length of the decoded block in bytes.</param>
/// <param name="instructionCount">The number of instructions in the decoded block (fewer may run: a fault, an exit or the budget may end it early).</param>
public delegate void BlockHook(ulong linearAddress, int lengthInBytes, int instructionCount);
